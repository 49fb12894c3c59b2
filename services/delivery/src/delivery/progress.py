"""DeliveryProgress: absolute counters from the ledger, at most once per interval for each
campaign this process touched, and the final snapshot (completed=true) exactly once.

Completion is claimed in PostgreSQL (campaigns.completed_at) in the same transaction that
puts the final snapshot in the outbox, so of several delivery processes exactly one
announces it, and a crash right after the claim still gets it published by the relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from uuid import UUID

from delivery.ports import Campaigns, Publisher

log = logging.getLogger(__name__)

#: Every this many intervals, campaigns touched by nobody here are looked at too (their
#: last message may have been finished by another process, or swept to unknown).
FULL_PASS_EVERY = 5


class ProgressReporter:
    def __init__(self, campaigns: Campaigns, publisher: Publisher, *, interval: float) -> None:
        self._campaigns = campaigns
        self._publisher = publisher
        self._interval = interval
        self._touched: set[UUID] = set()

    def touch(self, campaign_ids: Iterable[UUID]) -> None:
        self._touched.update(campaign_ids)

    async def run(self) -> None:
        passes = 0
        while True:
            await asyncio.sleep(self._interval)  # a timer loop, not a consumer callback
            passes += 1
            try:
                await self.report_once(full=passes % FULL_PASS_EVERY == 0)
            except Exception:
                log.exception("progress pass failed")

    async def report_once(self, *, full: bool = False) -> None:
        active, self._touched = self._touched, set()
        candidates = set(active)
        if full:
            candidates.update(await self._campaigns.open_campaigns())
        for campaign_id in candidates:
            await self.report(campaign_id, snapshot=campaign_id in active)

    async def report(self, campaign_id: UUID, *, snapshot: bool = True) -> None:
        status = await self._campaigns.status(campaign_id)
        if status is None or status.completed:
            return
        counts = await self._campaigns.counts(campaign_id)
        event = counts.progress(status.tenant_id, campaign_id, status.total)
        if event.completed:
            if await self._campaigns.complete(campaign_id, event):
                log.info("campaign %s complete: %s", campaign_id, event.model_dump())
            return
        if snapshot:
            await self._publisher.publish([event])
