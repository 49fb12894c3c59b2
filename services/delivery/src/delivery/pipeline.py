"""The delivery pipeline: Kafka records in, SMTP transactions out, the ledger in between.

    admit ─► intake ─► claimer ──► ready ──► senders (one per SMTP connection) ─► recorder
               │         │  ▲                                                      │
               │         ▼  │ (campaign unknown yet, or another process holds it)  ▼
               │        held                                           ledger, events, offsets
    retry loop ─────────────► ready   (rows whose next_attempt_at has come)

- The claimer renders a small group of messages and inserts them into the ledger as
  SENDING in one statement just before they are handed to the senders; the ready queue is
  kept short, so a crash leaves few rows in SENDING (they become UNKNOWN, never resent).
- A message the ledger already knows (redelivery after a crash or rebalance) is never sent
  again: a final row has its event published again (same event id), a retry row belongs to
  the retry loop, and a row still in SENDING is held until its owner finishes or is declared
  dead by the sweeper.
- A message whose campaign is not known yet is held in memory, not acknowledged, and looked
  at again when a campaign arrives or after `recheck` seconds; admission waits (backpressure)
  while too many are held.
- The recorder writes outcomes in batches, publishes MessageSent/Bounced, and only then
  marks the records done; the commit loop commits, per partition, everything below the
  lowest record not yet done. Retries finish through the outbox instead (no offset to hold).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from uuid import UUID

from prometheus_client import Counter, Gauge

from contracts import Event, MalformedEvent, RecipientResolved, decode
from delivery.catalog import CampaignCatalog
from delivery.domain import FINAL, Reply, RetryPolicy, Stage, State, decide, outcome_events
from delivery.offsets import OffsetTracker
from delivery.ports import Claim, Committer, Finished, Known, Ledger, Mailer, Parker, Publisher
from delivery.ports import TopicPartition as TP
from delivery.render import Mail

log = logging.getLogger(__name__)
T = TypeVar("T")

OUTCOMES = Counter("delivery_messages_total", "Messages by ledger state reached", ["state"])
_OUTCOME = {state: OUTCOMES.labels(state.value) for state in State}
HELD = Gauge("delivery_held_messages", "Messages waiting for their campaign or their owner")
READY = Gauge("delivery_ready_messages", "Messages claimed and waiting for an SMTP sender")
REPLAYED = Counter(
    "delivery_redelivered_total", "Redelivered messages the ledger already knew", ["state"]
)


class Record(Protocol):
    """The parts of a Kafka record the pipeline reads (aiokafka's ConsumerRecord fits)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(slots=True)
class Item:
    """A decoded record on its way through the pipeline."""

    tp: TP
    offset: int
    generation: int
    raw: bytes
    event: RecipientResolved


@dataclass(slots=True)
class Job:
    event: RecipientResolved
    mail: Mail
    attempts: int
    raw: bytes
    item: Item | None  # None: a retry taken from the ledger


@dataclass(frozen=True)
class PipelineConfig:
    owner: str
    concurrency: int = 8
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    held_limit: int = 20_000
    recheck_seconds: float = 1.0
    retry_poll_seconds: float = 0.5
    commit_interval_seconds: float = 0.5
    intake_batches: int = 4

    #: Messages rendered and claimed per ledger statement. The claimer claims the next
    #: chunk while less than one chunk waits for the senders, so at most two chunks plus the
    #: transactions in flight are SENDING at any moment: what a crash can make UNKNOWN.
    claim_chunk: int = 64


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        *,
        ledger: Ledger,
        catalog: CampaignCatalog,
        mailer: Mailer,
        publisher: Publisher,
        committer: Committer,
        park: Parker,
        on_touched: Callable[[Iterable[UUID]], None] = lambda _ids: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._c = config
        self._ledger = ledger
        self._catalog = catalog
        self._mailer = mailer
        self._publisher = publisher
        self._committer = committer
        self._park = park
        self._touched = on_touched
        self._clock = clock
        self.tracker = OffsetTracker()
        self._intake: asyncio.Queue[list[Item]] = asyncio.Queue(config.intake_batches)
        self._held: list[Item] = []
        self._room_for_held = asyncio.Event()
        self._room_for_held.set()
        self._ready: asyncio.Queue[Job] = asyncio.Queue()
        self._recheck_at = 0.0
        self._room = asyncio.Event()
        self._room.set()
        self._results: list[tuple[Job, Reply]] = []
        self._results_signal = asyncio.Event()
        self._in_flight = 0
        #: Messages between their claim and their recorded outcome, in this process.
        self._active: set[UUID] = set()
        self._claiming: asyncio.Future[None] | None = None
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        spawn = asyncio.get_running_loop().create_task
        self._tasks = [
            spawn(self._forever("claimer", self._claim_loop)),
            spawn(self._forever("recorder", self._record_loop)),
            spawn(self._forever("retries", self._retry_loop)),
            spawn(self._forever("commits", self._commit_loop)),
            *(spawn(self._sender(i)) for i in range(self._c.concurrency)),
        ]

    async def stop(self, grace: float = 15.0) -> None:
        """Finish what is claimed (no new claims), record it, commit, stop. Records admitted
        but not claimed stay uncommitted: the next owner of their partition reads them."""
        self._closing = True
        self._tasks[0].cancel()  # the claimer: nothing new becomes SENDING
        self._tasks[2].cancel()  # the retry loop
        while not self._intake.empty():
            self._intake.get_nowait()  # frees an admit() waiting for room
        if self._claiming is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._claiming), grace)
        deadline = time.monotonic() + grace
        # Polled: the drain ends on a combination of states, and only once, at shutdown.
        while time.monotonic() < deadline and (  # noqa: ASYNC110
            self._ready.qsize() or self._in_flight or self._results
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._commit()

    async def _forever(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Keeps a stage alive: an unexpected error is logged and the stage goes on."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery %s failed; restarting it", name)
                await asyncio.sleep(1.0)

    # ------------------------------------------------------------------ admission

    async def admit(self, records: Sequence[Record]) -> None:
        """Called by the Kafka subscriber with each fetched batch; returns when the batch is
        queued. Waits while the pipeline is full (backpressure, never a sleep)."""
        if self._closing:
            return
        items: list[Item] = []
        for rec in records:
            tp = (rec.topic, rec.partition)
            generation = self.tracker.add(tp, rec.offset)
            try:
                event = decode(rec.value or b"", RecipientResolved)
            except MalformedEvent as exc:
                await self._park(rec.topic, rec.partition, rec.offset, rec.value, str(exc))
                self.tracker.done(tp, rec.offset, generation)
                continue
            items.append(Item(tp, rec.offset, generation, rec.value or b"", event))
        await self._room_for_held.wait()
        if items and not self._closing:
            await self._intake.put(items)

    def revoke(self, tps: set[TP]) -> None:
        """Partitions taken away: their held messages go (the new owner will read them)."""
        self.tracker.revoke(tps)
        self._held = [i for i in self._held if i.tp not in tps]
        self._update_held()

    async def commit_partitions(self, tps: set[TP]) -> None:
        await self._commit(only=tps)

    # ------------------------------------------------------------------ claimer

    async def _claim_loop(self) -> None:
        while True:
            items = await self._next_items()
            if items:
                await self._process(items)

    async def _next_items(self) -> list[Item]:
        """The next batch, or the held messages when it is time to look at them again."""
        if not self._held:
            return await self._intake.get()
        if self._catalog.arrived.is_set() or time.monotonic() >= self._recheck_at:
            return self._take_held()
        get = asyncio.ensure_future(self._intake.get())
        arrived = asyncio.ensure_future(self._catalog.arrived.wait())
        try:
            await asyncio.wait(
                {get, arrived},
                timeout=max(0.0, self._recheck_at - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            arrived.cancel()
            if not get.done():
                get.cancel()  # a cancelled Queue.get leaves its item in the queue
        if get.done() and not get.cancelled():
            return get.result()
        return self._take_held()

    def _take_held(self) -> list[Item]:
        self._catalog.arrived.clear()
        self._recheck_at = time.monotonic() + self._c.recheck_seconds
        held, self._held = self._held, []
        self._update_held()
        return held

    async def _process(self, items: list[Item]) -> None:
        compiled = await self._catalog.get_many({i.event.campaign_id for i in items})
        ready: list[Item] = []
        seen: set[UUID] = set()
        later: list[Item] = []
        for item in items:
            cid = item.event.campaign_id
            if not self.tracker.current(item.tp, item.generation):
                continue  # its partition was revoked: the new owner reads it again
            if cid not in compiled and cid not in self._catalog.broken:
                self._held.append(item)
            elif item.event.message_id in seen:
                later.append(item)  # a duplicate in the same batch: settled by the ledger
            else:
                seen.add(item.event.message_id)
                ready.append(item)
        self._update_held()
        chunk = self._c.claim_chunk
        for start in range(0, len(ready), chunk):
            await self._room.wait()
            # Shielded: once rows are SENDING their jobs must reach the senders, even when
            # the claimer is being stopped.
            self._claiming = asyncio.ensure_future(
                self._claim(ready[start : start + chunk], compiled)
            )
            await asyncio.shield(self._claiming)
        if later:
            await self._settle_known(later)

    async def _claim(self, items: list[Item], compiled: dict[UUID, Any]) -> None:
        issued_at = int(self._clock())
        claims: list[Claim] = []
        mails: dict[UUID, Mail] = {}
        for item in items:
            event = item.event
            campaign = compiled.get(event.campaign_id)
            try:
                if campaign is None:
                    raise ValueError(self._catalog.broken.get(event.campaign_id, "no campaign"))
                mails[event.message_id] = campaign.render(event, issued_at)
                claims.append(Claim(event, State.SENDING))
            except Exception as exc:
                log.warning("message %s cannot be rendered: %r", event.message_id, exc)
                claims.append(Claim(event, State.FAILED, f"render failed: {exc!r}"[:500]))
        states = await self._retrying("claim", lambda: self._ledger.claim(claims, self._c.owner))
        known: list[Item] = []
        for item in items:
            state = states.get(item.event.message_id)
            if state is None:
                known.append(item)
            elif state is State.SENDING:
                mail = mails[item.event.message_id]
                self._active.add(item.event.message_id)
                self._ready.put_nowait(Job(item.event, mail, 1, item.raw, item))
            else:
                _OUTCOME[state].inc()
                self._done(item)
        self._touched({i.event.campaign_id for i in items})
        if self._ready.qsize() >= self._c.claim_chunk:
            self._room.clear()
        READY.set(self._ready.qsize())
        if known:
            await self._settle_known(known)

    async def _settle_known(self, items: list[Item]) -> None:
        rows = await self._retrying(
            "existing", lambda: self._ledger.existing([i.event.message_id for i in items])
        )
        events: list[Event] = []
        settled: list[Item] = []
        orphans: list[Finished] = []
        for item in items:
            row = rows.get(item.event.message_id)
            if row is not None and _orphan(row, self._c.owner, self._active):
                # Claimed here by a statement whose answer was lost: never sent, so it
                # goes to the retry loop.
                orphans.append(Finished(row.message_id, State.RETRY, None, "", 0.0, item.raw))
                settled.append(item)
                continue
            if row is None or row.state is State.SENDING:
                self._held.append(item)  # its owner is at it, or will be declared dead
                continue
            REPLAYED.labels(row.state.value).inc()
            if row.state in FINAL:
                events.extend(_replay(item.event, row))
            settled.append(item)
        self._update_held()
        if orphans:
            await self._retrying("finish", lambda: self._ledger.finish(orphans, self._c.owner))
        if events:
            await self._retrying("publish", lambda: self._publisher.publish(events))
        for item in settled:
            self._done(item)

    def _update_held(self) -> None:
        HELD.set(len(self._held))
        if len(self._held) >= self._c.held_limit:
            self._room_for_held.clear()
        else:
            self._room_for_held.set()

    # ------------------------------------------------------------------ senders

    async def _sender(self, index: int) -> None:
        session = self._mailer.session()
        job: Job | None = None
        try:
            while True:
                if job is None:
                    job = await self._next_job()
                following = self._next_job_nowait()
                try:
                    reply = await session.send(job.mail, following.mail if following else None)
                except Exception as exc:  # the session reports SMTP trouble as a Reply
                    log.exception("sender %d: unexpected error", index)
                    reply = Reply(Stage.END, None, f"unexpected: {exc!r}")
                self._results.append((job, reply))
                self._in_flight -= 1
                self._results_signal.set()
                job = following
        finally:
            with contextlib.suppress(Exception):
                await session.close()

    async def _next_job(self) -> Job:
        job = await self._ready.get()
        self._taken()
        return job

    def _next_job_nowait(self) -> Job | None:
        try:
            job = self._ready.get_nowait()
        except asyncio.QueueEmpty:
            return None
        self._taken()
        return job

    def _taken(self) -> None:
        self._in_flight += 1
        if self._ready.qsize() < self._c.claim_chunk:
            self._room.set()

    # ------------------------------------------------------------------ recorder

    async def _record_loop(self) -> None:
        while True:
            await self._results_signal.wait()
            self._results_signal.clear()
            batch, self._results = self._results, []
            if batch:
                await self._record(batch)

    async def _record(self, batch: list[tuple[Job, Reply]]) -> None:
        self._active.difference_update(job.event.message_id for job, _ in batch)
        fresh: list[tuple[Job, Finished]] = []
        retried: list[tuple[Job, Finished]] = []
        for job, reply in batch:
            decision = decide(reply, job.attempts, self._c.policy)
            keep = job.raw if decision.state is State.RETRY else None
            row = Finished(
                job.event.message_id,
                decision.state,
                reply.code,
                reply.text[:1000],
                decision.retry_in,
                keep,
            )
            (fresh if job.item is not None else retried).append((job, row))
        if fresh:
            await self._record_fresh(fresh)
        if retried:
            await self._record_retried(retried)
        self._touched({job.event.campaign_id for job, _ in batch})

    async def _record_fresh(self, rows: list[tuple[Job, Finished]]) -> None:
        updated = await self._retrying(
            "finish", lambda: self._ledger.finish([r for _, r in rows], self._c.owner)
        )
        events = _events_for(rows, updated)
        if events:
            await self._retrying("publish", lambda: self._publisher.publish(events))
        for job, row in rows:
            _OUTCOME[row.state].inc()
            assert job.item is not None
            self._done(job.item)

    async def _record_retried(self, rows: list[tuple[Job, Finished]]) -> None:
        await self._retrying(
            "finish retries",
            lambda: self._ledger.finish(
                [r for _, r in rows], self._c.owner, outbox=lambda ids: _events_for(rows, ids)
            ),
        )
        for _, row in rows:
            _OUTCOME[row.state].inc()

    def _done(self, item: Item) -> None:
        self.tracker.done(item.tp, item.offset, item.generation)

    # ------------------------------------------------------------------ retries and commits

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(self._c.retry_poll_seconds)  # a timer loop, not a consumer
            room = self._c.claim_chunk - self._ready.qsize()
            if room > 0:
                await asyncio.shield(self._take_retries(room))

    async def _take_retries(self, limit: int) -> None:
        due = await self._ledger.take_due_retries(self._c.owner, limit)
        if not due:
            return
        # Active from the moment they are SENDING here, so that the claimer never takes
        # them for orphans of a lost claim.
        self._active.update(row.message_id for row in due)
        events = [decode(row.event, RecipientResolved) for row in due]
        compiled = await self._catalog.get_many({e.campaign_id for e in events})
        issued_at = int(self._clock())
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
            self._ready.put_nowait(Job(event, mail, row.attempts, row.event, None))
        if failed:
            await self._ledger.finish(failed, self._c.owner)
            self._active.difference_update(f.message_id for f in failed)

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(self._c.commit_interval_seconds)
            await self._commit()

    async def _commit(self, only: set[TP] | None = None) -> None:
        offsets = self.tracker.committable(only)
        if not offsets:
            return
        try:
            await self._committer.commit(offsets)
        except Exception as exc:  # e.g. a rebalance took the partition; the next owner redoes
            log.warning("offset commit failed: %r", exc)
            return
        self.tracker.committed(offsets)

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Ledger and Kafka writes are retried until they succeed: giving up would lose the
        outcome of a mail that was sent. (This runs in pipeline tasks, not in a consumer.)"""
        delay = 0.2
        while True:
            try:
                return await call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed, retrying in %.1fs: %r", what, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def _events_for(rows: list[tuple[Job, Finished]], updated: set[UUID]) -> list[Event]:
    events: list[Event] = []
    for job, row in rows:
        if row.message_id in updated:
            events.extend(outcome_events(job.event, row.state, row.reply_code, row.reply_text))
    return events


def _orphan(row: Known, owner: str, active: set[UUID]) -> bool:
    return row.state is State.SENDING and row.owner == owner and row.message_id not in active


def _replay(event: RecipientResolved, row: Known) -> list[Event]:
    """The event a final row produced, again (same id: consumers drop the duplicate)."""
    return outcome_events(event, row.state, row.reply_code, row.reply_text)
