"""Record: outcomes in, committable offsets out. Outcomes are written to the ledger in
batches and their events published; only then does a message stop being in flight and its
record become committable. Retries taken from the ledger finish through the outbox instead
(no offset waits for them). A parked job (it waited for its destination and was never
tried) goes back to the ledger as a retry with its attempt given back."""

from __future__ import annotations

import asyncio
from uuid import UUID

from contracts import Event
from delivery.domain import RetryPolicy, State, decide, outcome_events
from delivery.metrics import OUTCOME
from delivery.pipeline.items import Job, Outcome, Shared, retrying
from delivery.ports import Finished, FinishedBatch


class Recorder:
    def __init__(
        self, shared: Shared, *, policy: RetryPolicy, inbox: asyncio.Queue[Outcome]
    ) -> None:
        self._shared, self._policy, self._inbox = shared, policy, inbox
        #: Outcomes taken from the inbox and not yet recorded.
        self.busy = 0

    async def run(self) -> None:
        while True:
            batch = [await self._inbox.get()]
            while not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            self.busy = len(batch)
            try:
                await self._record(batch)
            finally:
                self.busy = 0

    async def _record(self, batch: list[Outcome]) -> None:
        fresh: list[tuple[Job, Finished]] = []
        retried: list[tuple[Job, Finished]] = []
        for outcome in batch:
            job = outcome.job
            (fresh if job.item is not None else retried).append((job, self._row(outcome)))
        if fresh:
            await self._record_fresh(fresh)
        if retried:
            await self._record_retried(retried)

    def _row(self, outcome: Outcome) -> Finished:
        job, reply = outcome.job, outcome.reply
        if reply is None:
            return Finished(
                job.event.message_id, State.RETRY, None, outcome.why, outcome.defer or 0.0,
                job.raw, refund=True,
            )  # fmt: skip
        age = self._shared.clock() - job.since
        decision = decide(reply, job.attempts, age, self._policy)
        kept = decision.state in (State.RETRY, State.UNKNOWN)
        return Finished(
            job.event.message_id,
            decision.state,
            reply.code,
            reply.text[:1000],
            decision.retry_in,
            job.raw if kept else None,
        )

    async def _record_fresh(self, rows: list[tuple[Job, Finished]]) -> None:
        finished = [r for _, r in rows]
        updated = await retrying(
            "finish",
            lambda: self._shared.ledger.finish(FinishedBatch(finished, self._shared.owner)),
        )
        events = _events_for(rows, updated)
        if events:
            await retrying("publish", lambda: self._shared.publisher.publish(events))
        # Only now: a redelivered copy met before this point is held, not taken for a claim
        # whose answer was lost (which would send it again).
        self._shared.in_flight.discard(r.message_id for r in finished)
        for job, row in rows:
            OUTCOME[row.state].inc()
            assert job.item is not None
            self._shared.tracker.done(job.item.tp, job.item.offset, job.item.generation)

    async def _record_retried(self, rows: list[tuple[Job, Finished]]) -> None:
        finished = [r for _, r in rows]
        await retrying(
            "finish retries",
            lambda: self._shared.ledger.finish(
                FinishedBatch(
                    finished, self._shared.owner, outbox=lambda ids: _events_for(rows, ids)
                )
            ),
        )
        self._shared.in_flight.discard(r.message_id for r in finished)
        for _, row in rows:
            OUTCOME[row.state].inc()


def _events_for(rows: list[tuple[Job, Finished]], updated: set[UUID]) -> list[Event]:
    events: list[Event] = []
    for job, row in rows:
        if row.message_id in updated:
            events.extend(outcome_events(job.event, row.state, row.reply_code, row.reply_text))
    return events
