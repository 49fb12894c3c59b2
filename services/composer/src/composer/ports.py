"""What the handlers need from the outside world. Adapters implement these; tests fake them."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from composer.domain import (
    Campaign,
    CampaignState,
    Directory,
    Progress,
    RegisteredSender,
    Tenant,
    User,
)
from composer.sending_domains import SendingDomain
from contracts import CampaignScheduled, Event, RecipientResolved


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Resolved:
    """One recipient as the recipients service resolves it, and why the campaign would
    leave it out (unsubscribed, bounced, ...), if it would."""

    recipient: RecipientResolved
    excluded: str | None = None


@dataclass(frozen=True)
class FolderPage:
    """One page of a folder: scheduled by due time ascending, the others most recently
    changed first; `after` is the (sort key, id) of the previous page's last row."""

    state: CampaignState
    limit: int = 50
    after: tuple[datetime, UUID] | None = None


@dataclass(frozen=True)
class Hit:
    """One open or click; automatic ones (scanners, link checkers) are counted apart."""

    kind: Literal["opens", "clicks"]
    machine: bool = False

    @property
    def counter(self) -> str:
        """The progress counter it adds one to: opens, clicks, machine_opens or machine_clicks."""
        return f"machine_{self.kind}" if self.machine else self.kind


class Audience(Protocol):
    """The recipients service, asked with the caller's own key (its tenant and role)."""

    async def recipient(self, campaign: CampaignScheduled, api_key: str) -> Resolved:
        """The one recipient of a snapshot narrowed to one customer or address; raises
        NotFound for an unknown customer."""
        ...

    async def unknown_groups(self, group_ids: list[UUID], api_key: str) -> list[UUID]:
        """Those of the ids that are no groups of the key's tenant."""
        ...


class Tx(Protocol):
    """One PostgreSQL transaction: everything in it commits together or not at all."""

    async def tenant(self, tenant_id: UUID, *, lock: bool = False) -> Tenant | None:
        """With `lock`, the tenant's row stays locked until the transaction ends: changes of
        the tenant and of its users then happen one after the other."""
        ...

    async def directory(self, tenant_id: UUID) -> Directory | None: ...

    async def campaign(self, tenant_id: UUID, campaign_id: UUID) -> Campaign | None:
        """The campaign, row-locked until the transaction ends (waits for other lockers)."""
        ...

    async def due_campaigns(self, now: datetime, limit: int) -> list[Campaign]:
        """Scheduled campaigns due at `now`, row-locked; rows another transaction holds are
        skipped, so that several releasers never take the same campaign."""
        ...

    async def save_campaign(self, campaign: Campaign) -> None: ...

    async def delete_campaign(self, tenant_id: UUID, campaign_id: UUID) -> None: ...

    async def progress(self, tenant_id: UUID, campaign_id: UUID) -> Progress | None:
        """The campaign's progress row, locked until the transaction ends."""
        ...

    async def save_progress(self, progress: Progress) -> None: ...

    async def add_hit(self, tenant_id: UUID, campaign_id: UUID, hit: Hit) -> None:
        """Adds one to the hit's counter of the campaign's progress."""
        ...

    async def first_seen(self, event_id: UUID) -> bool:
        """Records the event id; False when it was handled before (a redelivery)."""
        ...

    async def enqueue(self, events: Iterable[Event]) -> None:
        """Outbox: the events are published after, and only if, this transaction commits."""
        ...

    async def insert_tenant(self, tenant: Tenant) -> None: ...

    async def update_tenant(self, tenant: Tenant) -> None: ...

    async def user(self, tenant_id: UUID, user_id: UUID) -> User | None: ...

    async def user_by_email(self, tenant_id: UUID, email: str) -> User | None: ...

    async def save_user(self, user: User) -> None: ...

    async def insert_key(
        self, key_id: str, secret_hash: str, tenant_id: UUID, user_id: UUID
    ) -> None: ...

    async def revoke_key(self, tenant_id: UUID, key_id: str) -> UUID | None:
        """Revokes the key; returns its user, or None when the tenant has no such key."""
        ...

    async def insert_sender(self, sender: RegisteredSender) -> None: ...

    async def sender(self, tenant_id: UUID, sender_id: UUID) -> RegisteredSender | None: ...

    async def delete_sender(self, tenant_id: UUID, sender_id: UUID) -> None: ...

    async def sending_domains(self, tenant_id: UUID) -> list[SendingDomain]: ...

    async def sending_domain(self, tenant_id: UUID, domain_id: UUID) -> SendingDomain | None:
        """The domain with its keys, row-locked until the transaction ends."""
        ...

    async def save_sending_domain(self, domain: SendingDomain) -> None:
        """Inserts or updates the domain; its keys become exactly `domain.keys`."""
        ...

    async def delete_sending_domain(self, tenant_id: UUID, domain_id: UUID) -> None: ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    async def campaign(self, tenant_id: UUID, campaign_id: UUID) -> Campaign | None:
        """A plain read, without a lock."""
        ...

    async def list_campaigns(self, tenant_id: UUID, page: FolderPage) -> list[Campaign]: ...

    async def users(self, tenant_id: UUID) -> list[User]: ...

    async def senders(self, tenant_id: UUID) -> list[RegisteredSender]: ...

    async def progress(self, tenant_id: UUID, campaign_id: UUID) -> Progress | None: ...

    async def prune_processed(self, days: int) -> None:
        """Forget ids of events handled more than `days` ago (redeliveries come sooner)."""
        ...
