"""PostgreSQL side of the digest ledger: claims, leases, content, and the sent record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts import DigestSent, Timing
from notifier.adapters.postgres import Q, unscheduled_from_row
from notifier.domain import CampaignSection, DigestContent, DigestLine, HitKind, digest_stats
from notifier.periods import DEFAULT_TIME_ZONE
from notifier.ports import Lease, UnscheduledHit
from servicekit.byname import from_row
from servicekit.outbox import enqueue


class PostgresLedger:
    """The `DigestLedger` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim_due(self, as_of: datetime, tenant_id: UUID | None) -> list[int]:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(Q["claim_lock"])
            rows = await conn.fetch(Q["claim_due"], as_of, tenant_id)
        return [r["digest_id"] for r in rows]

    async def late_hits(self, as_of: datetime, tenant_id: UUID | None) -> list[UnscheduledHit]:
        rows = await self._pool.fetch(Q["late_hits"], as_of, tenant_id)
        return [unscheduled_from_row(r) for r in rows]

    async def lease(self, owner: str, limit: int, lease_s: float) -> list[Lease]:
        rows = await self._pool.fetch(Q["lease"], owner, limit, float(lease_s))
        return [from_row(Lease, r) for r in rows]

    async def content(self, digest_id: int, max_lines: int) -> DigestContent | None:
        async with self._pool.acquire() as conn:
            head = await conn.fetchrow(Q["digest_head"], digest_id)
            if head is None:
                return None
            rows = await conn.fetch(Q["digest_lines"], digest_id, max_lines)
        sections: dict[UUID, CampaignSection] = {}
        time_zone = DEFAULT_TIME_ZONE
        for r in rows:
            time_zone = r["time_zone"]
            section = sections.get(r["campaign_id"])
            if section is None:
                section = CampaignSection(r["campaign_id"], r["campaign_name"], r["subject"])
                sections[r["campaign_id"]] = section
            kind = HitKind(r["kind"])
            section.counts[kind] = r["total"]
            section.lines.setdefault(kind, []).append(from_row(DigestLine, r, kind=kind))
        return from_row(
            DigestContent,
            head,
            time_zone=time_zone,
            timings=frozenset(Timing(t) for t in head["timings"] or () if t),
            sections=tuple(sections.values()),
        )

    async def mark_sending(self, digest_id: int, owner: str, lease_s: float) -> bool:
        row = await self._pool.fetchval(Q["mark_sending"], digest_id, owner, float(lease_s))
        return row is not None

    async def extend_lease(self, digest_id: int, owner: str, lease_s: float) -> bool:
        row = await self._pool.fetchval(Q["extend_lease"], digest_id, owner, float(lease_s))
        return row is not None

    async def mark_sent(self, digest_id: int, owner: str, event: DigestSent) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            tenant_id = await conn.fetchval(Q["mark_sent"], digest_id, owner)
            if tenant_id is None:
                return False
            await enqueue(conn, [event])
            await conn.execute(Q["add_counters"], [tenant_id], ["digests_sent"], [1])
        return True

    async def release(self, digest_id: int, owner: str, *, retry_in: float, error: str) -> None:
        await self._pool.execute(Q["release"], digest_id, owner, float(retry_in), error[:500])

    async def fail(self, digest_id: int, owner: str, error: str) -> None:
        await self._pool.execute(Q["fail"], digest_id, owner, error[:500])

    async def unsent(self, digest_ids: Sequence[int]) -> list[int]:
        rows = await self._pool.fetch(Q["unsent"], list(digest_ids))
        return [r["id"] for r in rows]

    async def stats(self, tenant_id: UUID | None) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            counters = {r["name"]: r["value"] for r in await conn.fetch(Q["counters"], tenant_id)}
            waiting = await conn.fetchrow(Q["pending_counts"], tenant_id)
        return digest_stats(counters, pending=waiting["pending"], awaiting=waiting["awaiting"])
