"""The audience query: one set-based statement, streamed through a server-side cursor."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import asyncpg

from contracts.merge import ATTRIBUTE_PREFIX
from recipients.domain import AudiencePlan
from recipients.ports import Candidate
from servicekit.db import load_queries

_QUERY = load_queries(Path(__file__).with_name("audience.sql"))["audience"]
_FIRST_ATTRIBUTE_PARAMETER = 19
_BEFORE_EVERY_ID = UUID(int=0)

# The value of each merge field as SQL over the candidate `c` (NULL when missing or empty).
# Sender fields use the owner's entry when the customer has one, else the campaign sender.
_FIELD_SQL = {
    "last_name": "nullif(c.last_name, '')",
    "first_name": "nullif(c.first_name, '')",
    "full_name": "nullif(concat_ws(' ', nullif(c.last_name, ''), nullif(c.first_name, '')), '')",
    "company": "nullif(c.company, '')",
    "email": "c.email",
    "sender_name": "nullif(coalesce(($8::text[])[c.owner], $11), '')",
    "sender_email": "nullif(coalesce(($9::text[])[c.owner], $12), '')",
    "sender_signature": "nullif(coalesce(($10::text[])[c.owner], $13), '')",
}


def audience_sql(plan: AudiencePlan) -> tuple[str, list[str]]:
    """The statement for a plan, and the attribute keys it takes as extra parameters."""
    keys: list[str] = []

    def value(field: str) -> str:
        if field in _FIELD_SQL:
            return _FIELD_SQL[field]
        keys.append(field.removeprefix(ATTRIBUTE_PREFIX))
        return f"nullif(c.attributes ->> ${_FIRST_ATTRIBUTE_PARAMETER + len(keys) - 1}, '')"

    values = [value(field) for field in plan.merge_fields]
    required = [values[plan.merge_fields.index(field)] for field in plan.required_fields]
    missing = " OR ".join(f"{sql} IS NULL" for sql in required) or "false"
    sql = _QUERY.replace("{missing_merge_value}", missing)
    return sql.replace("{merge_values}", ", ".join(values)), keys


def audience_args(plan: AudiencePlan, after: str | None) -> list[Any]:
    owners = plan.owners
    return [
        plan.tenant_id,
        UUID(after) if after else _BEFORE_EVERY_ID,
        list(plan.customer_ids),
        list(plan.include_group_ids),
        list(plan.exclude_group_ids),
        list(plan.excluded_customer_ids),
        [o.user_id for o in owners],
        [o.name for o in owners],
        [o.email for o in owners],
        [o.signature for o in owners],
        plan.sender.name,
        plan.sender.email,
        plan.sender.signature,
        list(plan.merge_fields),
        plan.kind,
        list(plan.addresses),
        plan.deliver_to,
        plan.render_excluded,
    ]


class PostgresAudienceCounter:
    """The audience query's rows counted by reason, for the console before a campaign is
    sent; nothing leaves PostgreSQL but the counts."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def count(self, plan: AudiencePlan) -> dict[str | None, int]:
        sql, keys = audience_sql(plan)
        counting = f"SELECT excluded, count(*) AS n FROM ({sql}) chosen GROUP BY excluded"
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            await conn.execute("SET LOCAL jit = off")
            rows = await conn.fetch(counting, *audience_args(plan, None), *keys)
        return {r["excluded"]: int(r["n"]) for r in rows}


class PostgresAudience:
    """Runs the audience query in a read-only transaction and hands out its rows in batches.

    The next batch is requested before the current one is handed out, so PostgreSQL
    produces rows while the caller encodes and publishes; at most two batches are in
    this process at a time.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def batches(
        self, plan: AudiencePlan, *, after: str | None, size: int
    ) -> AsyncGenerator[Sequence[Candidate], None]:
        sql, keys = audience_sql(plan)
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            # A JIT compile of this statement costs more than it saves on any audience size.
            await conn.execute("SET LOCAL jit = off")
            cursor = await conn.cursor(sql, *audience_args(plan, after), *keys)
            pending = asyncio.ensure_future(cursor.fetch(size))
            try:
                while rows := await pending:
                    pending = asyncio.ensure_future(cursor.fetch(size))
                    # Let the prefetch send its request before the caller takes the loop.
                    await asyncio.sleep(0)
                    # asyncpg records are read like the tuples the port describes.
                    yield cast(Sequence[Candidate], rows)
            finally:
                # Closed early (a preview takes one row; a failure): the prefetch must be
                # over before the transaction ends, or the connection is still busy.
                if not pending.done():
                    pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                    await pending
