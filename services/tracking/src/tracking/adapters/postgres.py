"""The `MailStore` port on PostgreSQL (the service's own schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from servicekit.db import load_queries
from tracking.metrics import INBOUND_KEPT, INBOUND_PURGED

QUERIES = load_queries(Path(__file__).with_name("queries.sql"))


class PostgresMailStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def keep(self, raw: bytes, *, mail_from: str, rcpt_tos: list[str], reason: str) -> None:
        await self._pool.execute(QUERIES["keep_inbound_mail"], reason, mail_from, rcpt_tos, raw)
        INBOUND_KEPT.labels(reason).inc()

    async def purge(self, *, older_than_days: int, limit: int) -> int:
        status: str = await self._pool.execute(
            QUERIES["purge_inbound_mail"], older_than_days, limit
        )
        deleted = int(status.split()[-1])  # "DELETE <count>"
        INBOUND_PURGED.inc(deleted)
        return deleted

    async def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(QUERIES["recent_inbound_mail"], limit)
        return [dict(r) for r in rows]
