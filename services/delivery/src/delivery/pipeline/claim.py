"""Claim: items in, jobs out. Each small group of messages is rendered and inserted into
the ledger as SENDING in one statement, with its payload, and only while fewer than one
group waits for destinations that can take it. A message whose destination cannot take
it soon (paused, or far behind its rate) is not rendered but claimed straight into the
deferred queue of the ledger (RETRY, due when its turn is expected).

A message the ledger already knows (Kafka redelivered it after a crash or a rebalance) is
never sent again: a final row has its events published again (same event ids), a retry row
belongs to the retrier, and a row still SENDING elsewhere (or in flight here) is looked at
again later, until its owner finishes or is declared dead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from uuid import UUID

from contracts import Event, RecipientResolved
from delivery.catalog import CampaignCatalog
from delivery.domain import FINAL, State, outcome_events
from delivery.metrics import HELD, OUTCOME, REPLAYED
from delivery.pipeline.dispatch import Dispatcher
from delivery.pipeline.items import Item, Job, Shared, retrying
from delivery.ports import Claim, Finished, FinishedBatch, Known
from mailkit.render import Mail

log = logging.getLogger(__name__)


class Claimer:
    def __init__(
        self,
        shared: Shared,
        *,
        chunk: int,
        recheck_seconds: float,
        catalog: CampaignCatalog,
        inbox: asyncio.Queue[list[Item]],
        ready: Dispatcher,
    ) -> None:
        self._shared, self._chunk, self._recheck = shared, chunk, recheck_seconds
        self._catalog, self._inbox, self._ready = catalog, inbox, ready
        #: Items another owner (or this process) is at; looked at again at `_recheck_at`.
        self._later: list[Item] = []
        self._recheck_at = 0.0
        #: The claim in progress: once rows are SENDING their jobs must reach the senders.
        self.claiming: asyncio.Future[None] | None = None

    async def run(self) -> None:
        while True:
            items = await self._next()
            if items:
                await self._process(items)

    def forget(self, tps: set[tuple[str, int]]) -> None:
        self._later = [i for i in self._later if i.tp not in tps]
        HELD.set(len(self._later))

    async def _next(self) -> list[Item]:
        if not self._later:
            return await self._inbox.get()
        wait = self._recheck_at - time.monotonic()
        if wait > 0:
            try:
                return await asyncio.wait_for(self._inbox.get(), wait)
            except TimeoutError:
                pass
        self._recheck_at = time.monotonic() + self._recheck
        later, self._later = self._later, []
        HELD.set(0)
        return later

    async def _process(self, items: list[Item]) -> None:
        compiled = await self._catalog.get_many({i.event.campaign_id for i in items})
        ready: list[Item] = []
        seen: set[UUID] = set()
        again: list[Item] = []
        for item in items:
            if not self._shared.tracker.current(item.tp, item.generation):
                continue  # its partition was revoked: the new owner reads it again
            cid = item.event.campaign_id
            if cid not in compiled and cid not in self._catalog.broken:
                # Its snapshot came before it on this partition, so this is a fault; wait
                # for it rather than fail a mail that could still go.
                log.error(
                    "no snapshot of campaign %s; message %s waits", cid, item.event.message_id
                )
                self._hold([item])
            elif item.event.message_id in seen:
                again.append(item)  # a duplicate in the same batch: settled by the ledger
            else:
                seen.add(item.event.message_id)
                ready.append(item)
        for start in range(0, len(ready), self._chunk):
            await self._ready.wait_room()
            self.claiming = asyncio.ensure_future(
                self._claim(ready[start : start + self._chunk], compiled)
            )
            await asyncio.shield(self.claiming)
        if again:
            await self._settle_known(again)

    async def _claim(self, items: list[Item], compiled: dict[UUID, Any]) -> None:
        now = self._shared.clock()
        issued_at = int(now)
        claims: list[Claim] = []
        mails: dict[UUID, Mail] = {}
        for item in items:
            event = item.event
            defer = self._ready.defer_for(event)
            if defer is not None:
                claims.append(
                    Claim(event, State.RETRY, item.raw, "waiting for its destination", defer)
                )
                continue
            campaign = compiled.get(event.campaign_id)
            try:
                if campaign is None:
                    raise ValueError(self._catalog.broken.get(event.campaign_id, "no campaign"))
                mails[event.message_id] = campaign.render(event, issued_at)
                claims.append(Claim(event, State.SENDING, item.raw))
            except Exception as exc:
                log.warning("message %s cannot be rendered: %r", event.message_id, exc)
                reason = f"render failed: {exc!r}"[:500]
                claims.append(Claim(event, State.FAILED, reason=reason))
        states = await retrying(
            "claim", lambda: self._shared.ledger.claim(claims, self._shared.owner)
        )
        known: list[Item] = []
        for item in items:
            message_id = item.event.message_id
            state = states.get(message_id)
            if state is None:
                known.append(item)
            elif state is State.SENDING:
                self._shared.in_flight.add([message_id])
                self._ready.put(Job(item.event, mails[message_id], 1, item.raw, item, now))
            else:
                OUTCOME[state].inc()
                self._shared.tracker.done(item.tp, item.offset, item.generation)
        if known:
            await self._settle_known(known)

    async def _settle_known(self, items: list[Item]) -> None:
        ids = [i.event.message_id for i in items]
        rows = await retrying("existing", lambda: self._shared.ledger.existing(ids))
        events: list[Event] = []
        settled: list[Item] = []
        orphans: list[Finished] = []
        for item in items:
            row = rows.get(item.event.message_id)
            if row is not None and self._orphan(row):
                # Claimed here by a statement whose answer was lost: never handed to a
                # sender, so it goes to the retrier.
                orphans.append(Finished(row.message_id, State.RETRY, None, "", 0.0, item.raw))
                settled.append(item)
            elif row is None or row.state is State.SENDING:
                self._hold([item])  # its owner is at it, or will be declared dead
            else:
                REPLAYED.labels(row.state.value).inc()
                if row.state in FINAL:
                    events.extend(_replay(item.event, row))
                settled.append(item)
        if orphans:
            await retrying(
                "finish",
                lambda: self._shared.ledger.finish(FinishedBatch(orphans, self._shared.owner)),
            )
        if events:
            await retrying("publish", lambda: self._shared.publisher.publish(events))
        for item in settled:
            self._shared.tracker.done(item.tp, item.offset, item.generation)

    def _orphan(self, row: Known) -> bool:
        return (
            row.state is State.SENDING
            and row.owner == self._shared.owner
            and row.message_id not in self._shared.in_flight
        )

    def _hold(self, items: list[Item]) -> None:
        if not self._later:
            self._recheck_at = time.monotonic() + self._recheck
        self._later.extend(items)
        HELD.set(len(self._later))


def _replay(event: RecipientResolved, row: Known) -> list[Event]:
    """The events a final row produced, again (same ids: consumers drop the duplicates)."""
    return outcome_events(event, row.state, row.reply_code, row.reply_text)
