"""PostgreSQL: one pool per service, confined to the service's own schema, and migrations.

Each service owns one schema named after it. Migrations are the service's
`migrations/NNNN_name.sql` files, applied in order, each once, in one transaction each,
under an advisory lock so that two instances starting together do not race.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_MIGRATION = re.compile(r"^(\d{4})_[\w-]+\.sql$")


def service_migrations(module_file: str) -> Path:
    """The migrations of the service that `module_file` (a module at the top of its package)
    belongs to: services/<service>/migrations, beside the `src/` that holds the package."""
    return Path(module_file).resolve().parents[2] / "migrations"


async def open_pool(
    database_url: str, schema: str, *, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see only `schema` (plus public for extensions)."""
    if not _NAME.match(schema):
        raise ValueError(f"bad schema name {schema!r}")
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": f"{schema},public", "application_name": schema},
    )
    assert pool is not None
    return pool


class Database:
    """A service's pool as a port: what health checks ping."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")


@asynccontextmanager
async def database(
    database_url: str,
    schema: str,
    migrations: Path,
    *,
    library: Sequence[tuple[str, str]] = (),
    min_size: int = 2,
    max_size: int = 10,
) -> AsyncIterator[Database]:
    """Migrate the schema, then hold a pool on it while the block runs."""
    await migrate(database_url, schema, migrations, library=library)
    pool = await open_pool(database_url, schema, min_size=min_size, max_size=max_size)
    try:
        yield Database(pool)
    finally:
        await pool.close()


async def migrate(
    database_url: str,
    schema: str,
    directory: Path,
    *,
    library: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """Apply pending migrations to `schema`; returns the names applied.

    `library` holds (name, sql) migrations that shared modules need (e.g. the outbox
    table); they run before the service's own files.
    """
    if not _NAME.match(schema):
        raise ValueError(f"bad schema name {schema!r}")
    files = sorted(p for p in directory.glob("*.sql") if _MIGRATION.match(p.name))
    pending = [*library, *((p.name, p.read_text()) for p in files)]
    conn = await asyncpg.connect(database_url)
    applied: list[str] = []
    try:
        # Serialises concurrent starts of the same service; released with the session.
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(f"SET search_path TO {schema},public")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in pending:
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            log.info("applied migration %s/%s", schema, name)
            applied.append(name)
    finally:
        await conn.close()
    return applied


def load_queries(path: Path) -> dict[str, str]:
    """Named queries from a .sql file: each starts with a `-- name: <name>` line.

    The comment lines after the name say why the query exists; they stay in the SQL text.
    """
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in path.read_text().splitlines():
        match = re.match(r"^--\s*name:\s*(\w+)\s*$", line)
        if match:
            if name:
                queries[name] = "\n".join(lines).strip()
            name, lines = match.group(1), []
        elif name:
            lines.append(line)
    if name:
        queries[name] = "\n".join(lines).strip()
    return queries
