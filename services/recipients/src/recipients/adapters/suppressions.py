"""PostgreSQL adapter of opt-outs: per tenant and address, kept beside the customer rows'
own state and outliving them (migrations/0003); listing and lifting them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from contracts import Bounced, Complained
from recipients.customers import Lift, Reason, Suppression
from recipients.domain import new_id
from recipients.ports import SuppressionFilter
from servicekit.byname import from_row
from servicekit.db import load_queries
from servicekit.errors import NotFound

Q = load_queries(Path(__file__).with_name("suppressions.sql"))
_FIRST = UUID(int=0)


async def unsubscribe(
    conn: asyncpg.Connection, tenant_id: UUID, customer_id: UUID, at: datetime, source: str
) -> tuple[asyncpg.Record | None, bool]:
    """配信停止 of a customer, on its row and for its address, in the caller's transaction:
    (the customer row when it was newly unsubscribed, whether the address is newly so)."""
    row = await conn.fetchrow(Q["unsubscribe_customer"], tenant_id, customer_id, at)
    entry = await suppress_customer(conn, tenant_id, customer_id, Reason.UNSUBSCRIBED, at, source)
    return row, entry


async def suppress_customer(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    customer_id: UUID,
    reason: Reason,
    at: datetime,
    source: str,
) -> bool:
    """The customer's current address opts out; whether the entry is new."""
    entry = await conn.fetchval(
        Q["suppress_customer"], tenant_id, new_id(), customer_id, reason.value, source, at
    )
    return entry is not None


async def _suppress(
    conn: asyncpg.Connection, event: Bounced | Complained, reason: Reason, source: str
) -> bool:
    """The address the event names opts out; whether the entry is new."""
    entry = await conn.fetchval(
        Q["suppress"], event.tenant_id, new_id(), event.email, reason.value, source,
        event.customer_id, event.occurred_at,
    )  # fmt: skip
    return entry is not None


def _suppression(row: asyncpg.Record, *, at: str = "created_at", id_: str = "id") -> Suppression:
    return from_row(Suppression, row, id=row[id_], reason=Reason(row["reason"]), created_at=row[at])


def _lift(row: asyncpg.Record) -> Lift:
    entry = _suppression(row, at="suppressed_at", id_="suppression_id")
    return from_row(Lift, row, entry=entry)


class PostgresSuppressions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def unsubscribe(
        self, tenant_id: UUID, customer_id: UUID, at: datetime, *, source: str
    ) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            row, entry = await unsubscribe(conn, tenant_id, customer_id, at, source)
        return row is not None or entry

    async def bounce(self, bounce: Bounced) -> bool:
        tenant_id, email, at = bounce.tenant_id, bounce.email, bounce.occurred_at
        async with self._pool.acquire() as conn, conn.transaction():
            entry = await _suppress(conn, bounce, Reason.BOUNCED, bounce.source)
            if bounce.customer_id is not None:
                marked = await conn.fetchval(
                    Q["bounce_customer"], tenant_id, bounce.customer_id, email, at
                )
            else:
                marked = await conn.fetchval(Q["bounce_address"], tenant_id, email, at)
        return entry or marked is not None

    async def complain(self, complaint: Complained) -> bool:
        async with self._pool.acquire() as conn:
            return await _suppress(conn, complaint, Reason.COMPLAINED, "arf")

    async def page(
        self, tenant_id: UUID, *, after: UUID | None, limit: int, only: SuppressionFilter
    ) -> list[Suppression]:
        reason = only.reason and only.reason.value
        rows = await self._pool.fetch(
            Q["list_suppressions"], tenant_id, after or _FIRST, reason, only.address, limit
        )
        return [_suppression(r) for r in rows]

    async def lift(
        self, tenant_id: UUID, suppression_id: UUID, *, by: UUID, at: datetime, note: str
    ) -> Lift:
        row = await self._pool.fetchrow(
            Q["lift"], tenant_id, suppression_id, new_id(), at, by, note
        )
        if row is None:
            raise NotFound("suppression")
        return _lift(row)

    async def lifts(self, tenant_id: UUID, *, after: UUID | None, limit: int) -> list[Lift]:
        rows = await self._pool.fetch(Q["list_lifts"], tenant_id, after or _FIRST, limit)
        return [_lift(r) for r in rows]
