"""What the handlers need from the outside world, declared where it is used."""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from contracts import CampaignScheduled, Event
from recipients.customers import Customer, CustomerInput, Group, ImportReport
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


class Suppressions(Protocol):
    """Unsubscribe and bounce state of customers. Registrations keep the first time, so a
    redelivered event changes nothing; each returns whether a customer matched."""

    async def unsubscribe(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> bool: ...

    async def bounce_customer(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> bool: ...

    async def bounce_address(self, tenant_id: UUID, email: str, at: datetime) -> bool: ...


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

    async def page(self, tenant_id: UUID, *, after: UUID | None, limit: int) -> list[Group]: ...

    async def update(
        self, tenant_id: UUID, group_id: UUID, name: str, description: str
    ) -> Group: ...

    async def delete(self, tenant_id: UUID, group_id: UUID) -> None: ...

    async def add_members(
        self, tenant_id: UUID, group_id: UUID, customer_ids: Sequence[UUID]
    ) -> tuple[list[UUID], list[UUID]]: ...

    async def remove_member(self, tenant_id: UUID, group_id: UUID, customer_id: UUID) -> None: ...


class Importer(Protocol):
    async def import_customers(
        self,
        tenant_id: UUID,
        rows: AsyncIterable[Sequence[CustomerRow]],
        *,
        update_existing: bool,
    ) -> ImportReport: ...

    async def import_members(
        self, tenant_id: UUID, group_id: UUID, rows: AsyncIterable[Sequence[MemberRow]]
    ) -> ImportReport: ...
