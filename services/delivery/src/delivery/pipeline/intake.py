"""Intake: what the recipient stream delivers, ready for the claimer.

A campaign's snapshot travels on every partition of the recipient stream ahead of its
recipients, so by the time a recipient is read here its campaign was read before it on the
same partition: the snapshot is stored (for other processes and for restarts, which resume
after it) and compiled before anything after it goes on. Every record's offset is
registered with the tracker; the batch goes to the claimer as one list.
"""

from __future__ import annotations

import asyncio
from typing import Any

from contracts import CampaignScheduled, RecipientResolved, encode
from delivery.catalog import CampaignCatalog
from delivery.pipeline.commit import Commits
from delivery.pipeline.items import Item, retrying
from delivery.pipeline.offsets import OffsetTracker
from delivery.ports import Campaigns
from servicekit.kafka import Batch


class Intake:
    def __init__(
        self,
        tracker: OffsetTracker,
        campaigns: Campaigns,
        catalog: CampaignCatalog,
        commits: Commits,
        out: asyncio.Queue[list[Item]],
    ) -> None:
        self._tracker = tracker
        self._campaigns = campaigns
        self._catalog = catalog
        self._commits = commits
        self._out = out
        self._closing = False

    async def admit(self, batch: Batch[Any]) -> None:
        """Called by the subscription with each fetched batch; returns once it is queued,
        waiting while the claimer is behind (backpressure, never a sleep)."""
        if self._closing:
            return
        self._commits.through(batch.consumer)
        snapshots: list[CampaignScheduled] = []
        done: list[tuple[tuple[str, int], int, int]] = []
        items: list[Item] = []
        for received in batch.received:
            tp = (received.topic, received.partition)
            generation = self._tracker.add(tp, received.offset)
            event = received.event
            if isinstance(event, RecipientResolved):
                items.append(Item(tp, received.offset, generation, received.value, event))
            else:
                snapshots.append(event)
                done.append((tp, received.offset, generation))
        self._tracker.seen(batch.ends)
        if snapshots:
            await self._store(snapshots)
        for tp, offset, generation in done:
            self._tracker.done(tp, offset, generation)
        if items and not self._closing:
            await self._out.put(items)

    def close(self) -> None:
        """No new work; frees an `admit` waiting for room."""
        self._closing = True
        while not self._out.empty():
            self._out.get_nowait()

    async def _store(self, snapshots: list[CampaignScheduled]) -> None:
        unique = {s.campaign_id: s for s in snapshots}
        rows = [(s.campaign_id, s.tenant_id, encode(s)) for s in unique.values()]
        await retrying("storing campaigns", lambda: self._campaigns.store(rows))
        for snapshot in unique.values():
            self._catalog.add(snapshot)
