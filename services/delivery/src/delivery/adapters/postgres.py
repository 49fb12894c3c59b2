"""PostgreSQL adapters: the ledger, campaigns, suppression and process liveness.

Every statement is a named query of queries.sql; batches travel as arrays (unnest), so one
round trip covers a whole group of messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from contracts import Event
from delivery.domain import Counts, State
from delivery.ports import CampaignStatus, Claim, DueRetry, Finished, Known
from servicekit.db import load_queries
from servicekit.outbox import enqueue

Q = load_queries(Path(__file__).with_name("queries.sql"))


class PgLedger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, claims: Sequence[Claim], owner: str) -> dict[UUID, State]:
        if not claims:
            return {}
        events = [c.event for c in claims]
        rows = await self._pool.fetch(
            Q["claim"],
            [e.message_id for e in events],
            [e.campaign_id for e in events],
            [e.tenant_id for e in events],
            [e.customer_id for e in events],
            [e.email for e in events],
            [e.occurred_at for e in events],
            [c.state.value for c in claims],
            [c.reason for c in claims],
            owner,
        )
        return {r["message_id"]: State(r["state"]) for r in rows}

    async def existing(self, message_ids: Sequence[UUID]) -> dict[UUID, Known]:
        rows = await self._pool.fetch(Q["existing"], list(message_ids))
        return {
            r["message_id"]: Known(
                r["message_id"], State(r["state"]), r["reply_code"], r["reply_text"], r["owner"]
            )
            for r in rows
        }

    async def finish(
        self,
        results: Sequence[Finished],
        owner: str,
        *,
        outbox: Callable[[set[UUID]], list[Event]] | None = None,
    ) -> set[UUID]:
        if not results:
            return set()
        args = (
            [r.message_id for r in results],
            [r.state.value for r in results],
            [r.reply_code for r in results],
            [r.reply_text for r in results],
            [r.retry_in for r in results],
            [r.event for r in results],
            owner,
        )
        if outbox is None:
            rows = await self._pool.fetch(Q["finish"], *args)
            return {r["message_id"] for r in rows}
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(Q["finish"], *args)
            updated = {r["message_id"] for r in rows}
            await enqueue(conn, outbox(updated))
        return updated

    async def take_due_retries(self, owner: str, limit: int) -> list[DueRetry]:
        rows = await self._pool.fetch(Q["take_due_retries"], owner, limit)
        return [DueRetry(r["message_id"], r["attempts"], r["event"]) for r in rows]

    async def sweep_dead_in_flight(self, owner_timeout: float) -> list[UUID]:
        rows = await self._pool.fetch(Q["sweep_dead_in_flight"], owner_timeout)
        return [r["campaign_id"] for r in rows]


class PgCampaigns:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def store_campaign(self, campaign_id: UUID, tenant_id: UUID, snapshot: bytes) -> None:
        await self._pool.execute(Q["store_campaign"], campaign_id, tenant_id, snapshot)

    async def store_total(self, campaign_id: UUID, tenant_id: UUID, total: int) -> None:
        await self._pool.execute(Q["store_total"], campaign_id, tenant_id, total)

    async def load(self, campaign_ids: Sequence[UUID]) -> dict[UUID, bytes]:
        rows = await self._pool.fetch(Q["load_campaigns"], list(campaign_ids))
        return {r["campaign_id"]: r["snapshot"] for r in rows}

    async def status(self, campaign_id: UUID) -> CampaignStatus | None:
        row = await self._pool.fetchrow(Q["campaign_status"], campaign_id)
        if row is None:
            return None
        return CampaignStatus(row["tenant_id"], row["total"], row["completed_at"] is not None)

    async def counts(self, campaign_id: UUID) -> Counts:
        rows = await self._pool.fetch(Q["counts"], campaign_id)
        return Counts({r["state"]: r["n"] for r in rows})

    async def complete(self, campaign_id: UUID, final: Event) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(Q["claim_completion"], campaign_id) is None:
                return False
            await enqueue(conn, [final])
        return True

    async def open_campaigns(self) -> list[UUID]:
        return [r["campaign_id"] for r in await self._pool.fetch(Q["open_campaigns"])]


class PgSuppressions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def suppress_address(self, tenant_id: UUID, email: str, at: datetime) -> None:
        await self._pool.execute(Q["suppress_address"], tenant_id, email, at)

    async def suppress_customer(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> None:
        await self._pool.execute(Q["suppress_customer"], tenant_id, customer_id, at)


class PgInstances:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def heartbeat(self, owner: str) -> None:
        await self._pool.execute(Q["heartbeat"], owner)

    async def forget(self, owner: str) -> None:
        await self._pool.execute(Q["forget_instance"], owner)

    async def prune(self) -> None:
        await self._pool.execute(Q["prune_instances"])
