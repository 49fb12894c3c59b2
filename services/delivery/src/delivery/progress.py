"""DeliveryProgress: absolute counters from the ledger, published for every campaign whose
ledger changed since its last report, by whichever delivery process looks first.

Every ledger statement raises its campaign's change sequence in the same transaction
(queries.sql), so a change that a process made just before it died is still reported, by
another process or after the restart. Two processes may report the same sequence; the
event id is derived from it, and consumers drop the second copy.
"""

from __future__ import annotations

from delivery.ports import Campaigns, Publisher
from servicekit.loops import Periodic


class ProgressReporter:
    def __init__(self, campaigns: Campaigns, publisher: Publisher, *, batch: int = 100) -> None:
        self._campaigns = campaigns
        self._publisher = publisher
        self._batch = batch

    def loop(self, interval: float) -> Periodic:
        return Periodic("progress reports", self.report_once, interval=interval)

    async def report_once(self) -> bool:
        """Report what changed; True when there may be more right away."""
        changed = await self._campaigns.unreported(self._batch)
        for campaign_id in changed:
            snapshot = await self._campaigns.snapshot(campaign_id)
            if snapshot is None:
                continue
            event = snapshot.counts.progress(snapshot.tenant_id, campaign_id, snapshot.sequence)
            await self._publisher.publish([event])
            await self._campaigns.reported(campaign_id, snapshot.sequence)
        return len(changed) == self._batch
