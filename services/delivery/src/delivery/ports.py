"""What delivery needs from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from contracts import Event, RecipientResolved
from delivery.domain import Counts, Reply, State
from mailkit.render import Mail

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Claim:
    """A message this process is about to send (SENDING) or could not render (FAILED)."""

    event: RecipientResolved
    state: State
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Finished:
    """The ledger row after one SMTP attempt."""

    message_id: UUID
    state: State
    reply_code: int | None
    reply_text: str
    retry_in: float | None = None
    event: bytes | None = None  # the RecipientResolved payload, kept while a retry is pending


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

    async def finish(
        self,
        results: Sequence[Finished],
        owner: str,
        *,
        outbox: Callable[[set[UUID]], list[Event]] | None = None,
    ) -> set[UUID]:
        """Record outcomes of rows `owner` holds in SENDING; returns the ids updated. With
        `outbox`, the events it returns for those ids are enqueued in the same transaction."""

    async def take_due_retries(self, owner: str, limit: int) -> list[DueRetry]: ...

    async def sweep_dead_in_flight(self, owner_timeout: float) -> list[UUID]:
        """SENDING rows of dead processes become UNKNOWN; returns their campaigns."""


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


class MailSession(Protocol):
    """One persistent SMTP connection, used by one sender at a time."""

    async def send(self, mail: Mail, following: Mail | None = None) -> Reply:
        """One transaction; `following`, when given, is the next mail this session will be
        asked to send (a session may announce it early)."""

    async def close(self) -> None: ...


class Mailer(Protocol):
    def session(self) -> MailSession: ...


class Publisher(Protocol):
    async def publish(self, events: Iterable[Event]) -> None:
        """Returns once Kafka acknowledged every event."""
