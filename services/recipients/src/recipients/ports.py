"""What the handlers need from the outside world, declared where it is used."""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Sequence,
)
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from contracts import Bounced, CampaignScheduled, Complained, Event
from recipients.customers import (
    Customer,
    CustomerInput,
    Group,
    ImportReport,
    Lift,
    Reason,
    Suppression,
)
from recipients.domain import AudiencePlan, Checkpoint
from recipients.imports import CustomerRow, MemberRow

Candidate = tuple[str, str | None, int | None, bytes | None]
"""One customer chosen by a plan, as the audience query returns it:
(customer id as text, exclusion reason or None, owner position or None, customer fragment).

The owner position is 1-based into `AudiencePlan.owners`; None means the campaign's sender.
The customer fragment is the customer's part of the RecipientResolved JSON (see
`recipients.encoding`); it is None for an excluded customer."""


class Audience(Protocol):
    def batches(
        self, plan: AudiencePlan, *, after: str | None, size: int
    ) -> AsyncGenerator[Sequence[Candidate], None]:
        """Every customer the plan chooses whose id sorts after `after`, in id order, in
        batches of at most `size`; memory stays flat whatever the audience size."""
        ...


class AudienceCounter(Protocol):
    async def count(self, plan: AudiencePlan) -> dict[str | None, int]:
        """How many customers the plan chooses, by exclusion reason (None: those who stay)."""
        ...


class Resolutions(Protocol):
    """Checkpoints of audience resolutions."""

    def exclusive(self, campaign_id: UUID) -> AbstractAsyncContextManager[None]:
        """Held while one process resolves the campaign; another one waits."""
        ...

    async def load(self, plan: AudiencePlan) -> Checkpoint: ...

    async def save(self, campaign_id: UUID, checkpoint: Checkpoint) -> None: ...

    async def finish(self, campaign_id: UUID) -> None: ...


class RecipientSink(Protocol):
    async def announce(self, campaign: CampaignScheduled) -> None:
        """Put the campaign's snapshot on every partition of the recipient stream, ahead of
        its recipients; returns once Kafka acknowledged it."""
        ...

    async def enqueue(self, records: Iterable[tuple[bytes, bytes]]) -> Awaitable[object]:
        """Queue encoded RecipientResolved (key, value) records for Kafka. Returns once they
        are queued (waiting for room when the producer is behind); the returned awaitable
        completes when Kafka acknowledged every one of them."""
        ...


class Publisher(Protocol):
    async def publish(self, events: Iterable[Event]) -> None:
        """Returns once Kafka acknowledged every event."""
        ...


@dataclass(frozen=True)
class SuppressionFilter:
    """Which opt-outs a listing holds: those of one reason, of one address, or every one."""

    reason: Reason | None = None
    address: str | None = None


class Suppressions(Protocol):
    """Opt-outs: per tenant and address (they outlive the customer rows), and on the customer
    row for the state it shows. Registrations keep the first time, so a redelivered event
    changes nothing; each returns whether anything was newly registered."""

    async def unsubscribe(
        self, tenant_id: UUID, customer_id: UUID, at: datetime, *, source: str
    ) -> bool: ...

    async def bounce(self, bounce: Bounced) -> bool:
        """The address bounced hard; its customer (by id, else by address) shows it while
        the address is still theirs."""
        ...

    async def complain(self, complaint: Complained) -> bool:
        """The recipient of a message reported it as spam: the address is kept out of bulk
        mail (and of individual mail), like a bounce."""
        ...

    async def page(
        self, tenant_id: UUID, *, after: UUID | None, limit: int, only: SuppressionFilter
    ) -> list[Suppression]: ...

    async def lift(
        self, tenant_id: UUID, suppression_id: UUID, *, by: UUID, at: datetime, note: str
    ) -> Lift:
        """Removes the entry (NotFound when there is none) and records who, when and why;
        a customer with that address shows the opt-out no more."""
        ...

    async def lifts(self, tenant_id: UUID, *, after: UUID | None, limit: int) -> list[Lift]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


# ---------------------------------------------------------------- HTTP API


class Customers(Protocol):
    """Customers of a tenant; a customer of another tenant raises NotFound like a missing one."""

    async def create(self, tenant_id: UUID, customer: CustomerInput) -> Customer: ...

    async def get(self, tenant_id: UUID, customer_id: UUID) -> Customer: ...

    async def find_by_email(self, tenant_id: UUID, email: str) -> Customer | None: ...

    async def search(
        self, tenant_id: UUID, text: str, *, after: UUID | None, limit: int
    ) -> list[Customer]:
        """Customers whose address, name or company contains `text` (any case), id order."""
        ...

    async def page(
        self, tenant_id: UUID, *, after: UUID | None, limit: int, group_id: UUID | None = None
    ) -> list[Customer]: ...

    async def update(
        self, tenant_id: UUID, customer_id: UUID, change: Callable[[Customer], CustomerInput]
    ) -> Customer: ...

    async def delete(self, tenant_id: UUID, customer_id: UUID) -> None: ...

    async def unsubscribe(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> Customer:
        """Staff unsubscribes the customer; publishes Unsubscribed (method api) once."""
        ...


class Groups(Protocol):
    async def create(self, tenant_id: UUID, name: str, description: str) -> Group: ...

    async def get(self, tenant_id: UUID, group_id: UUID) -> Group: ...

    async def unknown(self, tenant_id: UUID, group_ids: Sequence[UUID]) -> list[UUID]:
        """Those of the ids, each once and in order, that are no groups of the tenant."""
        ...

    async def page(self, tenant_id: UUID, *, after: UUID | None, limit: int) -> list[Group]: ...

    async def update(
        self, tenant_id: UUID, group_id: UUID, name: str, description: str
    ) -> Group: ...

    async def delete(self, tenant_id: UUID, group_id: UUID) -> None: ...

    async def add_members(
        self, tenant_id: UUID, group_id: UUID, customer_ids: Sequence[UUID]
    ) -> tuple[list[UUID], list[UUID]]: ...

    async def remove_member(self, tenant_id: UUID, group_id: UUID, customer_id: UUID) -> None: ...


UnknownUsers = Callable[[Collection[UUID]], Awaitable[set[UUID]]]
"""Those of the ids that are no users of the caller's tenant."""


class Staff(Protocol):
    """The tenant's users (owners of customers), as the composer knows them."""

    async def unknown(self, api_key: str, tenant_id: UUID, user_ids: Collection[UUID]) -> set[UUID]:
        """Those of `user_ids` that are no users of the tenant, asked with the caller's own
        key (another tenant's user is as unknown as a missing one)."""
        ...


@dataclass(frozen=True)
class ImportRules:
    """How an import of customers treats rows whose address is a customer's already
    (updated or rejected) and the owners rows name."""

    update_existing: bool
    unknown_owners: UnknownUsers


class Importer(Protocol):
    async def import_customers(
        self, tenant_id: UUID, rows: AsyncIterable[Sequence[CustomerRow]], rules: ImportRules
    ) -> ImportReport:
        """Rows naming an owner that is no user of the tenant are rejected."""
        ...

    async def import_members(
        self, tenant_id: UUID, group_id: UUID, rows: AsyncIterable[Sequence[MemberRow]]
    ) -> ImportReport: ...
