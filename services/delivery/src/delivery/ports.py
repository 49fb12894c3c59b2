"""What delivery needs from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from contracts import Event, RecipientResolved, UnknownResolution
from delivery.bounces import Reply
from delivery.domain import Counts, State
from mailkit.render import Mail

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Claim:
    """A message this process is about to send (SENDING), could not render (FAILED), or
    defers at once because its destination cannot take it soon (RETRY, due in
    `retry_in`). `raw` is the RecipientResolved payload: the row keeps it until the
    message is final, so that any process can send it again."""

    event: RecipientResolved
    state: State
    raw: bytes = b""
    reason: str = ""
    retry_in: float | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    """The ledger row after one SMTP attempt."""

    message_id: UUID
    state: State
    reply_code: int | None
    reply_text: str
    retry_in: float | None = None
    event: bytes | None = None  # the RecipientResolved payload, kept while a retry is pending
    #: The attempt is given back: the message waited for its destination, it was not tried.
    refund: bool = False


@dataclass(frozen=True, slots=True)
class FinishedBatch:
    """One ledger write of outcomes, for rows `owner` holds in SENDING. With `outbox`, the
    events it returns for the ids updated are enqueued in the same transaction."""

    results: Sequence[Finished]
    owner: str
    outbox: Callable[[set[UUID]], list[Event]] | None = None


@dataclass(frozen=True, slots=True)
class Known:
    """A ledger row met again when Kafka redelivered its message."""

    message_id: UUID
    state: State
    reply_code: int | None
    reply_text: str
    owner: str = ""


@dataclass(frozen=True, slots=True)
class DueRetry:
    message_id: UUID
    attempts: int
    event: bytes
    #: When its first attempt was made (epoch seconds): the retry horizon counts from it.
    since: float


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the ledger knows of a message a report names."""

    tenant_id: UUID
    campaign_id: UUID
    customer_id: UUID | None
    email: str | None
    state: State


@dataclass(frozen=True, slots=True)
class Settlement:
    """A report's verdict on a sent message: the row moves from one of `source` to
    `target`, and `events` (called only when it does) are enqueued in the same transaction."""

    message_id: UUID
    source: Sequence[State]
    target: State
    text: str
    events: Callable[[], list[Event]]


@dataclass(frozen=True, slots=True)
class Grant:
    """Tokens a destination's bucket gave, how long until the next one when it gave none,
    and the rate in force (per minute; 0: none)."""

    granted: int
    wait: float
    per_minute: float


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """A campaign's counters as of one value of its change sequence."""

    tenant_id: UUID
    sequence: int
    counts: Counts


class Ledger(Protocol):
    async def claim(self, claims: Sequence[Claim], owner: str) -> dict[UUID, State]:
        """Insert new rows; returns the state of each row inserted (known ones are absent)."""

    async def existing(self, message_ids: Sequence[UUID]) -> dict[UUID, Known]: ...

    async def finish(self, batch: FinishedBatch) -> set[UUID]:
        """Record the batch's outcomes; returns the ids updated."""

    async def mark(self, message_ids: Sequence[UUID], owner: str) -> set[UUID]:
        """The DATA marker: these messages' content may go on the wire now. Returns the
        ids marked (rows `owner` still holds in SENDING); only those may be written."""

    async def take_due_retries(self, owner: str, limit: int) -> list[DueRetry]: ...

    async def sweep_dead_in_flight(self, owner_timeout: float) -> list[UUID]:
        """SENDING rows of dead processes: with the DATA marker they become UNKNOWN,
        without it RETRY at once (no attempt spent). Returns their campaigns."""


class Reports(Protocol):
    """The ledger as the inbound reports and the operators' resolutions see it."""

    async def delivered(self, message_id: UUID) -> Delivered | None: ...

    async def settle(self, settlement: Settlement) -> bool:
        """Apply the settlement; False when the row was in none of its `source` states
        (e.g. already settled)."""

    async def resolve_unknown(self, resolution: UnknownResolution) -> int | None:
        """A campaign's UNKNOWN rows: due for sending again, or FAILED, as the operator
        said; returns how many (None: this resolution was handled before)."""


class Campaigns(Protocol):
    async def store(self, snapshots: Sequence[tuple[UUID, UUID, bytes]]) -> None:
        """Keep (campaign id, tenant id, CampaignScheduled bytes); known ones stay as they are."""

    async def load(self, campaign_ids: Sequence[UUID]) -> dict[UUID, bytes]: ...

    async def unreported(self, limit: int) -> list[UUID]:
        """Campaigns whose ledger changed since their last progress report."""

    async def snapshot(self, campaign_id: UUID) -> ProgressSnapshot | None: ...

    async def reported(self, campaign_id: UUID, sequence: int) -> None: ...


class Suppressions(Protocol):
    async def suppress_address(self, tenant_id: UUID, email: str, at: datetime) -> None: ...

    async def suppress_customer(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> None: ...


class Instances(Protocol):
    async def heartbeat(self, owner: str) -> None: ...

    async def forget(self, owner: str) -> None: ...

    async def prune(self) -> None: ...


class Shaper(Protocol):
    """Per-destination limits shared by every delivery process (adapters/redis.py)."""

    async def acquire(self, scope: str, holder: str, limit: int) -> bool:
        """One of `limit` concurrency slots of `scope` for `holder` (kept if it has one)."""

    async def release(self, scope: str, holder: str) -> None: ...

    async def renew(self, held: Sequence[tuple[str, str, int]]) -> list[int]:
        """Keep (scope, holder, limit) slots alive; returns the indexes of those lost."""

    async def take(self, scope: str, wanted: int, per_minute: int) -> Grant: ...

    async def slow_down(self, scope: str, per_minute: int, observed: float) -> float:
        """The destination asked us to slow down (`observed`: the rate per minute this
        process was sending to it); returns the rate now in force."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a message's SMTP session connects: the relay, or a domain's mail exchangers
    in order of preference."""

    key: str
    hosts: tuple[str, ...]
    port: int


@dataclass(frozen=True, slots=True)
class Transaction:
    """One mail for a session to send. `following`, when given, is the next mail this
    session will be asked to send (a session may announce it early). `entering` is awaited
    before the content is written: False withdraws the mail (the connection is dropped)."""

    mail: Mail
    following: Mail | None = None
    entering: Awaitable[bool] | None = None


class MailSession(Protocol):
    """One persistent SMTP connection, used by one sender at a time."""

    async def send(self, transaction: Transaction) -> Reply: ...

    async def close(self) -> None: ...


class Mailer(Protocol):
    def session(self, route: Route) -> MailSession: ...


class Router(Protocol):
    async def route(self, domain: str) -> Route | Reply:
        """The route to a recipient domain, or the reply that stands for its failure."""


class Publisher(Protocol):
    async def publish(self, events: Iterable[Event]) -> None:
        """Returns once Kafka acknowledged every event."""
