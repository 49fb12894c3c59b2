"""In-memory ports for the delivery unit tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts import Event, UnknownResolution
from delivery.bounces import Reply, Stage
from delivery.domain import Counts, State
from delivery.ports import (
    Claim,
    Delivered,
    DueRetry,
    FinishedBatch,
    Known,
    ProgressSnapshot,
    Route,
    Settlement,
    Transaction,
)
from mailkit.render import Mail


@dataclass
class Row:
    campaign_id: UUID
    state: State
    owner: str
    attempts: int
    reply_code: int | None = None
    reply_text: str = ""
    event: bytes | None = None
    due: bool = False
    tenant_id: UUID | None = None
    customer_id: UUID | None = None
    email: str | None = None
    #: The DATA marker.
    marked: bool = False
    since: float = field(default_factory=time.time)
    #: When a deferred row is due (claim-time deferral or parking), for tests that look.
    retry_in: float | None = None


class FakeLedger:
    def __init__(self) -> None:
        self.rows: dict[UUID, Row] = {}
        self.outbox: list[Event] = []
        self.suppressed_customers: set[UUID] = set()
        #: Raised with every change of a campaign's rows, as the real statements do.
        self.sequence: dict[UUID, int] = {}
        #: Owners the sweep treats as dead.
        self.dead: set[str] = set()
        self.processed: set[UUID] = set()
        #: `hold_next_finish()` makes the next `finish` wait until `release_finish()`: one
        #: slow ledger write, while other statements go through.
        self._slow: asyncio.Event | None = None
        self._held: asyncio.Event | None = None

    def hold_next_finish(self) -> None:
        self._held = asyncio.Event()

    def release_finish(self) -> None:
        assert self._slow is not None
        self._slow.set()

    def _touch(self, campaign_ids: Iterable[UUID]) -> None:
        for cid in set(campaign_ids):
            self.sequence[cid] = self.sequence.get(cid, 0) + 1

    async def claim(self, claims: Sequence[Claim], owner: str) -> dict[UUID, State]:
        out = {}
        for c in claims:
            mid = c.event.message_id
            if mid in self.rows:
                continue
            state = (
                State.SUPPRESSED if c.event.customer_id in self.suppressed_customers else c.state
            )
            self.rows[mid] = Row(
                c.event.campaign_id,
                state,
                owner,
                1 if state is State.SENDING else 0,
                reply_text=c.reason,
                event=c.raw if state in (State.SENDING, State.RETRY) else None,
                tenant_id=c.event.tenant_id,
                customer_id=c.event.customer_id,
                email=c.event.email,
                retry_in=c.retry_in,
            )
            out[mid] = state
        self._touch(self.rows[m].campaign_id for m in out)
        return out

    async def existing(self, message_ids: Sequence[UUID]) -> dict[UUID, Known]:
        return {
            m: Known(
                m,
                self.rows[m].state,
                self.rows[m].reply_code,
                self.rows[m].reply_text,
                self.rows[m].owner,
            )
            for m in message_ids
            if m in self.rows
        }

    async def finish(self, batch: FinishedBatch) -> set[UUID]:
        if self._held is not None:
            self._slow, self._held = self._held, None
            await self._slow.wait()
        updated = set()
        for r in batch.results:
            row = self.rows[r.message_id]
            if row.state is not State.SENDING or row.owner != batch.owner:
                continue
            row.state, row.reply_code, row.reply_text = r.state, r.reply_code, r.reply_text
            kept = r.state in (State.RETRY, State.UNKNOWN)
            row.event = (r.event or row.event) if kept else None
            row.due, row.retry_in = False, r.retry_in
            row.attempts -= 1 if r.refund else 0
            updated.add(r.message_id)
        self._touch(self.rows[m].campaign_id for m in updated)
        if batch.outbox is not None:
            self.outbox.extend(batch.outbox(updated))
        return updated

    async def mark(self, message_ids: Sequence[UUID], owner: str) -> set[UUID]:
        marked = set()
        for mid in message_ids:
            row = self.rows.get(mid)
            if row is not None and row.state is State.SENDING and row.owner == owner:
                row.marked = True
                marked.add(mid)
        return marked

    def make_due(self) -> None:
        for row in self.rows.values():
            row.due = row.state is State.RETRY

    async def take_due_retries(self, owner: str, limit: int) -> list[DueRetry]:
        out = []
        for mid, row in self.rows.items():
            if row.state is State.RETRY and row.due and len(out) < limit:
                row.state, row.owner, row.attempts = State.SENDING, owner, row.attempts + 1
                row.marked = False
                assert row.event is not None
                out.append(DueRetry(mid, row.attempts, row.event, row.since))
        self._touch(self.rows[r.message_id].campaign_id for r in out)
        return out

    async def sweep_dead_in_flight(self, owner_timeout: float) -> list[UUID]:
        swept = []
        for row in self.rows.values():
            if row.state is State.SENDING and row.owner in self.dead:
                if row.marked or row.event is None:
                    row.state = State.UNKNOWN
                else:
                    row.state, row.due, row.attempts = State.RETRY, True, max(row.attempts - 1, 0)
                swept.append(row.campaign_id)
        self._touch(swept)
        return sorted(set(swept))

    # ------------------------------------------------------------------ Reports

    async def delivered(self, message_id: UUID) -> Delivered | None:
        row = self.rows.get(message_id)
        if row is None or row.tenant_id is None:
            return None
        return Delivered(row.tenant_id, row.campaign_id, row.customer_id, row.email, row.state)

    async def settle(self, settlement: Settlement) -> bool:
        s = settlement
        row = self.rows.get(s.message_id)
        if row is None or row.state not in s.source:
            return False
        row.state, row.reply_text = s.target, s.text
        self._touch([row.campaign_id])
        self.outbox.extend(s.events())
        return True

    async def resolve_unknown(self, resolution: UnknownResolution) -> int | None:
        r = resolution
        if r.event_id in self.processed:
            return None
        self.processed.add(r.event_id)
        rows = [
            row
            for row in self.rows.values()
            if row.campaign_id == r.campaign_id and row.tenant_id == r.tenant_id
            and row.state is State.UNKNOWN
        ]  # fmt: skip
        for row in rows:
            if r.action == "resend" and row.event is not None:
                row.state, row.due, row.since = State.RETRY, True, time.time()
            else:
                row.state = State.FAILED
        self._touch(row.campaign_id for row in rows)
        return len(rows)

    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.state.value] = counts.get(row.state.value, 0) + 1
        return counts


class FakeCampaigns:
    def __init__(self, ledger: FakeLedger) -> None:
        self.snapshots: dict[UUID, bytes] = {}
        self.tenants: dict[UUID, UUID] = {}
        self.reported_seq: dict[UUID, int] = {}
        self._ledger = ledger

    async def store(self, snapshots: Sequence[tuple[UUID, UUID, bytes]]) -> None:
        for campaign_id, tenant_id, snapshot in snapshots:
            self.snapshots.setdefault(campaign_id, snapshot)
            self.tenants.setdefault(campaign_id, tenant_id)

    async def load(self, campaign_ids: Sequence[UUID]) -> dict[UUID, bytes]:
        return {c: self.snapshots[c] for c in campaign_ids if c in self.snapshots}

    async def unreported(self, limit: int) -> list[UUID]:
        changed = [
            c
            for c, seq in self._ledger.sequence.items()
            if c in self.tenants and seq > self.reported_seq.get(c, 0)
        ]
        return changed[:limit]

    async def snapshot(self, campaign_id: UUID) -> ProgressSnapshot | None:
        if campaign_id not in self.tenants:
            return None
        counts: dict[str, int] = {}
        for row in self._ledger.rows.values():
            if row.campaign_id == campaign_id:
                counts[row.state.value] = counts.get(row.state.value, 0) + 1
        sequence = self._ledger.sequence.get(campaign_id, 0)
        return ProgressSnapshot(self.tenants[campaign_id], sequence, Counts(counts))

    async def reported(self, campaign_id: UUID, sequence: int) -> None:
        self.reported_seq[campaign_id] = max(self.reported_seq.get(campaign_id, 0), sequence)


class FakeSession:
    def __init__(self, mailer: FakeMailer, route: Route) -> None:
        self._mailer = mailer
        self.route = route

    async def send(self, transaction: Transaction) -> Reply:
        mail, entering = transaction.mail, transaction.entering
        m = self._mailer
        domain = mail.rcpt.rpartition("@")[2]
        if m.down:
            m.refused += 1
            return Reply(Stage.CONNECT, None, "ConnectionRefusedError: relay down")
        m.sent.append(mail)
        reply = _ACCEPTED
        script = m.script.get(mail.rcpt)
        if script:
            reply = script.pop(0)
            if reply.stage is not Stage.END:
                return reply
        if entering is not None and not await entering:
            m.withdrawn.append(mail)
            return Reply(Stage.DATA, None, "Withdrawn: its ledger marker was refused")
        m.open[domain] = m.open.get(domain, 0) + 1
        m.peak[domain] = max(m.peak.get(domain, 0), m.open[domain])
        try:
            await asyncio.sleep(m.delays.get(domain, 0.0))
        finally:
            m.open[domain] -= 1
        if reply.code is not None and reply.code < 300:
            m.delivered.append(mail)
        return reply

    async def close(self) -> None:
        return None


_ACCEPTED = Reply(Stage.END, 250, "2.0.0 Ok: queued")


@dataclass
class FakeMailer:
    #: Replies to give, in order, per recipient address; afterwards: accepted.
    script: dict[str, list[Reply]] = field(default_factory=dict)
    #: Every transaction begun; those whose content was accepted; those withdrawn.
    sent: list[Mail] = field(default_factory=list)
    delivered: list[Mail] = field(default_factory=list)
    withdrawn: list[Mail] = field(default_factory=list)
    #: Seconds each transaction to a domain takes.
    delays: dict[str, float] = field(default_factory=dict)
    #: The relay refuses connections.
    down: bool = False
    refused: int = 0
    open: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    def session(self, route: Route) -> FakeSession:
        return FakeSession(self, route)

    def count(self, rcpt: str) -> int:
        return sum(1 for m in self.sent if m.rcpt == rcpt)


@dataclass
class FakeClock:
    """Seconds that pass only when a test moves `now`."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakePublisher:
    events: list[Event] = field(default_factory=list)

    async def publish(self, events: Iterable[Event]) -> None:
        self.events.extend(events)


class FakeConsumer:
    """Where the pipeline commits offsets (aiokafka's consumer has the same `commit`)."""

    def __init__(self) -> None:
        self.offsets: dict[tuple[str, int], int] = {}

    async def commit(self, offsets: Mapping[Any, int]) -> None:
        self.offsets.update({(tp.topic, tp.partition): o for tp, o in offsets.items()})


class FakeSuppressions:
    def __init__(self) -> None:
        self.addresses: dict[tuple[UUID, str], datetime] = {}
        self.customers: dict[tuple[UUID, UUID], datetime] = {}

    async def suppress_address(self, tenant_id: UUID, email: str, at: datetime) -> None:
        self.addresses[(tenant_id, email.lower())] = at

    async def suppress_customer(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> None:
        self.customers[(tenant_id, customer_id)] = at
