"""PostgreSQL side of the hit store: campaign settings, directories and the hits themselves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from contracts import Timing
from notifier.domain import (
    CampaignInfo,
    Hit,
    HitKind,
    HitStatus,
    MessageEntry,
    Recorded,
    StaffEntry,
)
from notifier.periods import Period
from notifier.ports import UnscheduledHit
from servicekit.byname import from_row
from servicekit.db import load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))


def campaign_from_row(row: asyncpg.Record) -> CampaignInfo:
    return from_row(CampaignInfo, row)


def unscheduled_from_row(row: asyncpg.Record) -> UnscheduledHit:
    return from_row(UnscheduledHit, row, campaign=campaign_from_row(row))


class PostgresHits:
    """The `HitStore` port. Campaign snapshots are immutable, so found ones are cached."""

    def __init__(self, pool: asyncpg.Pool, *, cache_size: int = 10_000) -> None:
        self._pool = pool
        self._campaigns: dict[UUID, CampaignInfo] = {}
        self._cache_size = cache_size

    async def campaigns(self, campaign_ids: set[UUID]) -> dict[UUID, CampaignInfo]:
        found = {i: self._campaigns[i] for i in campaign_ids if i in self._campaigns}
        missing = [i for i in campaign_ids if i not in found]
        if missing:
            for row in await self._pool.fetch(Q["campaigns_by_id"], missing):
                found[row["campaign_id"]] = self._remember(campaign_from_row(row))
        return found

    def _remember(self, campaign: CampaignInfo) -> CampaignInfo:
        if len(self._campaigns) >= self._cache_size:
            self._campaigns.clear()
        self._campaigns[campaign.campaign_id] = campaign
        return campaign

    async def last_opens(self, message_ids: set[UUID]) -> dict[UUID, datetime]:
        rows = await self._pool.fetch(Q["last_opens"], list(message_ids))
        return {r["message_id"]: r["last_open_at"] for r in rows}

    async def record_hits(self, recorded: Sequence[Recorded]) -> dict[HitKind, int]:
        """Notifiable hits are stored, so that a redelivered one is recognised and dropped;
        suppressed and machine hits are only counted (half the rows, and they never need a
        digest), so a redelivered one may be counted twice. Every human open moves its
        message's durable last open, notified or not."""
        stored = [r for r in recorded if r.status is not HitStatus.COUNTED]
        counted = [r for r in recorded if r.status is HitStatus.COUNTED]
        async with self._pool.acquire() as conn, conn.transaction():
            if counted:
                # A redelivered first open may now look like a re-open of a later open.
                ids = [r.hit.event_id for r in counted]
                known = {r["event_id"] for r in await conn.fetch(Q["known_hits"], ids)}
                counted = [r for r in counted if r.hit.event_id not in known]
            new = counted
            if stored:
                rows = await conn.fetch(Q["insert_hits"], *_hit_columns(stored))
                inserted = {r["event_id"] for r in rows}
                new = counted + [r for r in stored if r.hit.event_id in inserted]
            opens = _latest_open_per_message(r for r in recorded if r.hit.is_human_open)
            if opens:
                await conn.execute(Q["upsert_last_opens"], *_columns(opens))
            counts = Counter((r.hit.tenant_id, r.kind.value) for r in new)
            if counts:
                rows = sorted((t, k, n) for (t, k), n in counts.items())
                await conn.execute(Q["add_counters"], *_columns(rows))
        return dict(Counter(r.kind for r in new))

    async def save_campaign(self, campaign: CampaignInfo, staff: Sequence[StaffEntry]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                Q["save_campaign"],
                campaign.campaign_id,
                campaign.tenant_id,
                campaign.name,
                campaign.subject,
                campaign.first_open_timing.value,
                campaign.reopen_timing.value,
                campaign.click_timing.value,
                campaign.time_zone,
                campaign.released_at,
            )
            rows = sorted((s.tenant_id, s.user_id, s.name, s.email, s.as_of) for s in staff)
            if rows:
                await conn.execute(Q["save_staff"], *_columns(rows))

    async def save_messages(self, messages: Sequence[MessageEntry]) -> None:
        latest = {m.message_id: m for m in messages}
        ordered = sorted(latest.values(), key=lambda m: m.message_id.bytes)
        rows = [
            (m.message_id, m.tenant_id, m.campaign_id, m.customer_id, m.email, m.name)
            for m in ordered
        ]
        if rows:
            await self._pool.execute(Q["save_messages"], *_columns(rows))

    async def awaiting_hits(self, limit: int) -> list[UnscheduledHit]:
        return [unscheduled_from_row(r) for r in await self._pool.fetch(Q["awaiting_hits"], limit)]

    async def reschedule(self, changes: Sequence[tuple[UUID, Timing, Period | None]]) -> None:
        if not changes:
            return
        rows = [
            (event_id, timing.value, p.start if p else None, p.end if p else None)
            for event_id, timing, p in changes
        ]
        await self._pool.execute(Q["reschedule"], *_columns(rows))

    async def prune(self, keep_days: int) -> str:
        result: str = await self._pool.execute(Q["prune_hits"], keep_days)
        return result


def _hit_columns(recorded: Sequence[Recorded]) -> list[list[Any]]:
    rows = []
    for r in recorded:
        h = r.hit
        rows.append(
            (
                h.event_id,
                h.tenant_id,
                h.campaign_id,
                h.message_id,
                h.customer_id,
                h.user_id,
                r.kind.value,
                h.url,
                h.occurred_at,
                r.status.value,
                r.timing.value if r.timing else None,
                r.period.start if r.period else None,
                r.period.end if r.period else None,
            )
        )
    return _columns(rows)


def _latest_open_per_message(opens: Iterable[Recorded]) -> list[tuple[Any, ...]]:
    latest: dict[UUID, Hit] = {}
    for r in opens:
        seen = latest.get(r.hit.message_id)
        if seen is None or seen.occurred_at < r.hit.occurred_at:
            latest[r.hit.message_id] = r.hit
    # Sorted by message id so that concurrent writers lock rows in the same order.
    ordered = sorted(latest.values(), key=lambda h: h.message_id.bytes)
    return [
        (h.message_id, h.tenant_id, h.campaign_id, h.customer_id, h.occurred_at) for h in ordered
    ]


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Row tuples -> one list per column, for `unnest`."""
    return [list(col) for col in zip(*rows, strict=True)]
