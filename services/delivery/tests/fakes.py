"""In-memory ports for the delivery unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from contracts import Event
from delivery.domain import Counts, Reply, Stage, State
from delivery.ports import CampaignStatus, Claim, DueRetry, Finished, Known
from delivery.render import Mail


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
        updated = set()
        for r in results:
            row = self.rows[r.message_id]
            if row.state is not State.SENDING or row.owner != owner:
                continue
            row.state, row.reply_code, row.reply_text = r.state, r.reply_code, r.reply_text
            row.event, row.due = r.event, False
            updated.add(r.message_id)
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
        self.totals: dict[UUID, int] = {}
        self.tenants: dict[UUID, UUID] = {}
        self.completed: list[Event] = []
        self._ledger = ledger

    async def store_campaign(self, campaign_id: UUID, tenant_id: UUID, snapshot: bytes) -> None:
        self.snapshots.setdefault(campaign_id, snapshot)
        self.tenants[campaign_id] = tenant_id

    async def store_total(self, campaign_id: UUID, tenant_id: UUID, total: int) -> None:
        self.totals[campaign_id] = total
        self.tenants[campaign_id] = tenant_id

    async def load(self, campaign_ids: Sequence[UUID]) -> dict[UUID, bytes]:
        return {c: self.snapshots[c] for c in campaign_ids if c in self.snapshots}

    async def status(self, campaign_id: UUID) -> CampaignStatus | None:
        if campaign_id not in self.tenants:
            return None
        done = any(getattr(e, "campaign_id", None) == campaign_id for e in self.completed)
        return CampaignStatus(self.tenants[campaign_id], self.totals.get(campaign_id), done)

    async def counts(self, campaign_id: UUID) -> Counts:
        counts: dict[str, int] = {}
        for row in self._ledger.rows.values():
            if row.campaign_id == campaign_id:
                counts[row.state.value] = counts.get(row.state.value, 0) + 1
        return Counts(counts)

    async def complete(self, campaign_id: UUID, final: Event) -> bool:
        if (await self.status(campaign_id)).completed:  # type: ignore[union-attr]
            return False
        self.completed.append(final)
        return True

    async def open_campaigns(self) -> list[UUID]:
        return [c for c in self.totals if not (await self.status(c)).completed]  # type: ignore[union-attr]


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


@dataclass
class FakeCommitter:
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.offsets.update(offsets)


@dataclass
class FakeParker:
    parked: list[tuple[str, int, int]] = field(default_factory=list)

    async def __call__(
        self, topic: str, partition: int, offset: int, value: bytes | None, reason: str
    ) -> None:
        self.parked.append((topic, partition, offset))


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None


class FakeSuppressions:
    def __init__(self) -> None:
        self.addresses: dict[tuple[UUID, str], datetime] = {}
        self.customers: dict[tuple[UUID, UUID], datetime] = {}

    async def suppress_address(self, tenant_id: UUID, email: str, at: datetime) -> None:
        self.addresses[(tenant_id, email.lower())] = at

    async def suppress_customer(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> None:
        self.customers[(tenant_id, customer_id)] = at
