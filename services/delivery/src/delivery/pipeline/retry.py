"""Retry: ledger rows whose next attempt is due, in; jobs out, to the senders, as far as
there is room (new messages and retries share the senders)."""

from __future__ import annotations

import logging

from contracts import RecipientResolved, decode
from delivery.catalog import CampaignCatalog
from delivery.domain import State
from delivery.pipeline.dispatch import Dispatcher
from delivery.pipeline.items import Job, Shared
from delivery.ports import Finished, FinishedBatch

log = logging.getLogger(__name__)


class Retrier:
    def __init__(self, shared: Shared, *, catalog: CampaignCatalog, ready: Dispatcher) -> None:
        self._shared, self._catalog, self._ready = shared, catalog, ready

    async def take(self) -> bool:
        """One look at the ledger; True when it gave as many as there was room for."""
        room = self._ready.room()
        if room <= 0:
            return False
        due = await self._shared.ledger.take_due_retries(self._shared.owner, room)
        if not due:
            return False
        # In flight from the moment they are SENDING here, so that the claimer never takes
        # a redelivered copy for the orphan of a lost claim.
        self._shared.in_flight.add(row.message_id for row in due)
        events = [decode(row.event, RecipientResolved) for row in due]
        compiled = await self._catalog.get_many({e.campaign_id for e in events})
        issued_at = int(self._shared.clock())
        failed: list[Finished] = []
        for row, event in zip(due, events, strict=True):
            campaign = compiled.get(event.campaign_id)
            try:
                if campaign is None:
                    raise ValueError("campaign unknown")
                mail = campaign.render(event, issued_at)
            except Exception as exc:
                failed.append(Finished(row.message_id, State.FAILED, None, f"{exc!r}"[:500]))
                continue
            self._ready.put(Job(event, mail, row.attempts, row.event, None, row.since))
        if failed:
            await self._shared.ledger.finish(FinishedBatch(failed, self._shared.owner))
            self._shared.in_flight.discard(f.message_id for f in failed)
        return len(due) == room
