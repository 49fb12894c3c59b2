"""In-memory ports for the delivery unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts import Event
from delivery.domain import Counts, Reply, Stage, State
from delivery.ports import Claim, DueRetry, Finished, Known, ProgressSnapshot
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


class FakeLedger:
    def __init__(self) -> None:
        self.rows: dict[UUID, Row] = {}
        self.outbox: list[Event] = []
        self.suppressed_customers: set[UUID] = set()
        #: Raised with every change of a campaign's rows, as the real statements do.
        self.sequence: dict[UUID, int] = {}
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
            self.rows[mid] = Row(c.event.campaign_id, state, owner, 1, reply_text=c.reason)
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

    async def finish(
        self,
        results: Sequence[Finished],
        owner: str,
        *,
        outbox: Callable[[set[UUID]], list[Event]] | None = None,
    ) -> set[UUID]:
        if self._held is not None:
            self._slow, self._held = self._held, None
            await self._slow.wait()
        updated = set()
        for r in results:
            row = self.rows[r.message_id]
            if row.state is not State.SENDING or row.owner != owner:
                continue
            row.state, row.reply_code, row.reply_text = r.state, r.reply_code, r.reply_text
            row.event, row.due = r.event, False
            updated.add(r.message_id)
        self._touch(self.rows[m].campaign_id for m in updated)
        if outbox is not None:
            self.outbox.extend(outbox(updated))
        return updated

    def make_due(self) -> None:
        for row in self.rows.values():
            row.due = row.state is State.RETRY

    async def take_due_retries(self, owner: str, limit: int) -> list[DueRetry]:
        out = []
        for mid, row in self.rows.items():
            if row.state is State.RETRY and row.due and len(out) < limit:
                row.state, row.owner, row.attempts = State.SENDING, owner, row.attempts + 1
                assert row.event is not None
                out.append(DueRetry(mid, row.attempts, row.event))
        self._touch(self.rows[r.message_id].campaign_id for r in out)
        return out

    async def sweep_dead_in_flight(self, owner_timeout: float) -> list[UUID]:
        return []

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
    def __init__(self, mailer: FakeMailer) -> None:
        self._mailer = mailer

    async def send(self, mail: Mail, following: Mail | None = None) -> Reply:
        self._mailer.sent.append(mail)
        script = self._mailer.script.get(mail.rcpt)
        if script:
            return script.pop(0)
        return Reply(Stage.END, 250, "2.0.0 Ok: queued")

    async def close(self) -> None:
        return None


@dataclass
class FakeMailer:
    #: Replies to give, in order, per recipient address; afterwards: accepted.
    script: dict[str, list[Reply]] = field(default_factory=dict)
    sent: list[Mail] = field(default_factory=list)

    def session(self) -> FakeSession:
        return FakeSession(self)

    def count(self, rcpt: str) -> int:
        return sum(1 for m in self.sent if m.rcpt == rcpt)


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
