"""PostgreSQL adapters: the ledger, campaigns, suppression and process liveness.

Every statement is a named query of queries.sql; batches travel as arrays (unnest), so one
round trip covers a whole group of messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from contracts import UnknownResolution
from delivery import ports
from delivery.domain import Counts, State
from servicekit.db import load_queries
from servicekit.outbox import enqueue

Q = load_queries(Path(__file__).with_name("queries.sql"))


class PgLedger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, claims: Sequence[ports.Claim], owner: str) -> dict[UUID, State]:
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
            [c.raw for c in claims],
            [c.retry_in for c in claims],
            owner,
        )
        return {r["message_id"]: State(r["state"]) for r in rows}

    async def existing(self, message_ids: Sequence[UUID]) -> dict[UUID, ports.Known]:
        rows = await self._pool.fetch(Q["existing"], list(message_ids))
        return {
            r["message_id"]: ports.Known(
                r["message_id"], State(r["state"]), r["reply_code"], r["reply_text"], r["owner"]
            )
            for r in rows
        }

    async def finish(self, batch: ports.FinishedBatch) -> set[UUID]:
        results = batch.results
        if not results:
            return set()
        args = (
            [r.message_id for r in results],
            [r.state.value for r in results],
            [r.reply_code for r in results],
            [r.reply_text for r in results],
            [r.retry_in for r in results],
            [r.event for r in results],
            [r.refund for r in results],
            batch.owner,
        )
        if batch.outbox is None:
            rows = await self._pool.fetch(Q["finish"], *args)
            return {r["message_id"] for r in rows}
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(Q["finish"], *args)
            updated = {r["message_id"] for r in rows}
            await enqueue(conn, batch.outbox(updated))
        return updated

    async def mark(self, message_ids: Sequence[UUID], owner: str) -> set[UUID]:
        rows = await self._pool.fetch(Q["mark_data"], list(message_ids), owner)
        return {r["message_id"] for r in rows}

    async def take_due_retries(self, owner: str, limit: int) -> list[ports.DueRetry]:
        rows = await self._pool.fetch(Q["take_due_retries"], owner, limit)
        return [
            ports.DueRetry(r["message_id"], r["attempts"], r["event"], r["since"]) for r in rows
        ]

    async def sweep_dead_in_flight(self, owner_timeout: float) -> list[UUID]:
        rows = await self._pool.fetch(Q["sweep_dead_in_flight"], owner_timeout)
        return [r["campaign_id"] for r in rows]


class PgReports:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def delivered(self, message_id: UUID) -> ports.Delivered | None:
        r = await self._pool.fetchrow(Q["delivered"], message_id)
        if r is None:
            return None
        return ports.Delivered(
            r["tenant_id"], r["campaign_id"], r["customer_id"], r["email"], State(r["state"])
        )

    async def settle(self, settlement: ports.Settlement) -> bool:
        s = settlement
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                Q["settle"],
                s.message_id,
                [x.value for x in s.source],
                s.target.value,
                s.text[:1000],
            )
            if row is None:
                return False
            await enqueue(conn, s.events())
        return True

    async def resolve_unknown(self, resolution: UnknownResolution) -> int | None:
        r = resolution
        query = Q["resend_unknown"] if r.action == "resend" else Q["give_up_unknown"]
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(Q["first_time"], r.event_id) is None:
                return None
            return int(await conn.fetchval(query, r.campaign_id, r.tenant_id))


class PgCampaigns:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def store(self, snapshots: Sequence[tuple[UUID, UUID, bytes]]) -> None:
        await self._pool.execute(
            Q["store_campaigns"],
            [s[0] for s in snapshots],
            [s[1] for s in snapshots],
            [s[2] for s in snapshots],
        )

    async def load(self, campaign_ids: Sequence[UUID]) -> dict[UUID, bytes]:
        rows = await self._pool.fetch(Q["load_campaigns"], list(campaign_ids))
        return {r["campaign_id"]: r["snapshot"] for r in rows}

    async def unreported(self, limit: int) -> list[UUID]:
        return [r["campaign_id"] for r in await self._pool.fetch(Q["unreported_campaigns"], limit)]

    async def snapshot(self, campaign_id: UUID) -> ports.ProgressSnapshot | None:
        rows = await self._pool.fetch(Q["progress_counts"], campaign_id)
        if not rows:
            return None
        counts = Counts({r["state"]: r["n"] for r in rows if r["state"] is not None})
        return ports.ProgressSnapshot(rows[0]["tenant_id"], rows[0]["changed_seq"], counts)

    async def reported(self, campaign_id: UUID, sequence: int) -> None:
        await self._pool.execute(Q["mark_reported"], campaign_id, sequence)


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
