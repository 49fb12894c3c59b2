"""The composer's entities, errors and the campaign state machine. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from composer.sending_domains import SendingDomain
from contracts import DeliveryProgress, RecipientSpecIn, TrackingSettings, merge
from servicekit.auth import Principal, Role
from servicekit.errors import Conflict, FieldError, Forbidden

SenderMode = Literal["self", "changed", "on_behalf_user", "on_behalf_registered"]
MailKind = Literal["bulk", "individual"]
ON_BEHALF: frozenset[str] = frozenset({"on_behalf_user", "on_behalf_registered"})


# ---------------------------------------------------------------- errors


# ---------------------------------------------------------------- accounts


@dataclass(frozen=True)
class Tenant:
    id: UUID
    company_name: str
    postal_address: str
    contact: str
    time_zone: str = "Asia/Tokyo"


@dataclass(frozen=True)
class User:
    id: UUID
    tenant_id: UUID
    name: str
    email: str
    signature: str
    role: Role


@dataclass(frozen=True)
class RegisteredSender:
    id: UUID
    tenant_id: UUID
    name: str
    email: str
    created_by: UUID


@dataclass(frozen=True)
class Directory:
    """What a campaign's sender rules and snapshot need to know about its tenant."""

    tenant: Tenant
    users: list[User]
    senders: list[RegisteredSender]
    sending_domains: list[SendingDomain] = field(default_factory=list)

    def user(self, user_id: UUID | None) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def sender(self, sender_id: UUID | None) -> RegisteredSender | None:
        return next((s for s in self.senders if s.id == sender_id), None)

    def domains(self) -> set[str]:
        """The tenant's registered sending domains, verified or not."""
        return {d.domain for d in self.sending_domains}

    def verified_domains(self) -> dict[str, SendingDomain]:
        return {d.domain: d for d in self.sending_domains if d.status == "verified"}


# ---------------------------------------------------------------- campaigns


class CampaignState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"


FOLDERS: dict[str, CampaignState] = {
    "drafts": CampaignState.DRAFT,
    "scheduled": CampaignState.SCHEDULED,
    "sending": CampaignState.SENDING,
    "sent": CampaignState.SENT,
}


class Tracking(TrackingSettings):
    """Tracking settings as a request: unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CampaignContent(BaseModel):
    """What a user composes. Stored as one document; validated by `rules`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: MailKind = Field(
        default="bulk",
        description="bulk: customers and groups; unsubscribed customers are left out. "
        "individual (1:1 mail): exactly one customer (`recipients.customer_ids`) or one "
        "address (`recipients.addresses`); it reaches an unsubscribed customer, never a "
        "bounced or complained address.",
    )
    name: str = Field(default="", description="Internal name, not shown to recipients.")
    subject: str = Field(default="", description="Subject; may contain merge fields.")
    html_body: str | None = Field(default=None, description="HTML body; may contain merge fields.")
    text_body: str | None = Field(default=None, description="Text body; may contain merge fields.")
    recipients: RecipientSpecIn = Field(default_factory=RecipientSpecIn)
    exclude_missing_merge: bool = Field(
        default=False, description="Skip customers lacking a value for a merge field used."
    )
    footer_enabled: bool = Field(
        default=True,
        description="Append the unsubscribe link and company address (legally required in "
        "Japan); turning it off is recorded with who and when.",
    )
    tracking: Tracking = Field(default_factory=Tracking)
    sender_mode: SenderMode = Field(
        default="self",
        description="self: the creator; changed (manager+): sender_name/sender_email, on a "
        "domain the tenant already sends from; on_behalf_user (manager+): sender_user_id; "
        "on_behalf_registered (manager+): sender_registered_id.",
    )
    sender_name: str | None = Field(default=None, description="Display name for `changed`.")
    sender_email: str | None = Field(default=None, description="Address for `changed`.")
    sender_user_id: UUID | None = Field(default=None, description="User for `on_behalf_user`.")
    sender_registered_id: UUID | None = Field(
        default=None, description="Registered sender for `on_behalf_registered`."
    )
    send_as_owner: bool = Field(
        default=False, description="Customers with an owner get the mail from that owner."
    )


@dataclass
class Campaign:
    id: UUID
    tenant_id: UUID
    content: CampaignContent
    created_by: UUID
    created_at: datetime
    updated_by: UUID
    updated_at: datetime
    state: CampaignState = CampaignState.DRAFT
    merge_fields: list[str] = field(default_factory=list)
    footer_disabled_by: UUID | None = None
    footer_disabled_at: datetime | None = None
    scheduled_for: datetime | None = None
    scheduled_by: UUID | None = None
    released_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_by: UUID | None = None
    cancelled_at: datetime | None = None
    last_error: str | None = None
    # Not stored: what sending would refuse right now, shown when a draft is saved.
    warnings: list[FieldError] = field(default_factory=list, compare=False)

    @property
    def folder(self) -> str:
        return next(name for name, state in FOLDERS.items() if state is self.state)


def may_change(campaign: Campaign, actor: Principal) -> None:
    """Members act on their own campaigns only; managers and admins on any of the tenant."""
    if campaign.created_by != actor.user_id and not actor.at_least(Role.MANAGER):
        raise Forbidden(None, "only the campaign's creator or a manager may change it")


def set_content(
    campaign: Campaign, content: CampaignContent, actor: Principal, now: datetime
) -> None:
    """Replace a draft's content; records who turned the legal footer off, and when."""
    ensure_draft(campaign, "edited")
    if not content.footer_enabled and campaign.content.footer_enabled:
        campaign.footer_disabled_by, campaign.footer_disabled_at = actor.user_id, now
    elif content.footer_enabled:
        campaign.footer_disabled_by = campaign.footer_disabled_at = None
    campaign.content = content
    campaign.merge_fields = merge.used_fields(content.subject, content.html_body, content.text_body)
    campaign.updated_by, campaign.updated_at = actor.user_id, now


def ensure_draft(campaign: Campaign, verb: str) -> None:
    if campaign.state is CampaignState.DRAFT:
        return
    if campaign.state is CampaignState.SCHEDULED:
        raise Conflict(
            f"a scheduled campaign cannot be {verb}: cancel it first (it returns to drafts)",
            state=campaign.state,
        )
    raise Conflict(
        f"campaign is {campaign.state} and can no longer be {verb}", state=campaign.state
    )


def schedule(campaign: Campaign, at: datetime, actor: Principal, now: datetime) -> None:
    ensure_draft(campaign, "scheduled")
    campaign.state = CampaignState.SCHEDULED
    campaign.scheduled_for, campaign.scheduled_by = at, actor.user_id
    campaign.updated_by, campaign.updated_at = actor.user_id, now
    campaign.last_error = None


def release(campaign: Campaign, now: datetime) -> None:
    """Draft (send now) or scheduled (time came) -> sending."""
    if campaign.state not in (CampaignState.DRAFT, CampaignState.SCHEDULED):
        raise Conflict(f"campaign is already {campaign.state}", state=campaign.state)
    campaign.state = CampaignState.SENDING
    campaign.released_at = campaign.updated_at = now
    campaign.last_error = None


def cancel(campaign: Campaign, actor: Principal, now: datetime) -> None:
    """Scheduled -> draft. Once released, nothing can call it back."""
    if campaign.state is CampaignState.DRAFT:
        raise Conflict("campaign is not scheduled", state=campaign.state)
    if campaign.state is not CampaignState.SCHEDULED:
        raise Conflict(
            f"campaign is already {campaign.state}: sending has started and cannot be cancelled",
            state=campaign.state,
        )
    campaign.state = CampaignState.DRAFT
    campaign.scheduled_for = campaign.scheduled_by = None
    campaign.cancelled_by, campaign.cancelled_at = actor.user_id, now
    campaign.updated_by, campaign.updated_at = actor.user_id, now


def return_to_drafts(campaign: Campaign, reason: str, now: datetime) -> None:
    """A scheduled campaign that can no longer be released as composed goes back to drafts."""
    campaign.state = CampaignState.DRAFT
    campaign.scheduled_for = campaign.scheduled_by = None
    campaign.updated_at = now
    campaign.last_error = reason


def complete(campaign: Campaign, now: datetime) -> bool:
    """Sending -> sent; False when there is nothing to do (already sent, or not released)."""
    if campaign.state is not CampaignState.SENDING:
        return False
    campaign.state = CampaignState.SENT
    campaign.completed_at = campaign.updated_at = now
    return True


# ---------------------------------------------------------------- progress


@dataclass
class Progress:
    campaign_id: UUID
    tenant_id: UUID
    audience_total: int | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    delivery_total: int | None = None
    sent: int = 0
    bounced: int = 0
    soft_bounced: int = 0
    failed: int = 0
    unknown: int = 0
    suppressed: int = 0
    delivery_at: datetime | None = None
    completed: bool = False
    opens: int = 0
    clicks: int = 0
    machine_opens: int = 0
    machine_clicks: int = 0
    deferred: int = 0
    delivery_sequence: int = 0

    @property
    def total(self) -> int:
        if self.audience_total is not None:
            return self.audience_total
        return self.delivery_total or 0

    @property
    def final(self) -> int:
        """Messages delivery holds in a final state (deferred ones are not final)."""
        return (
            self.sent + self.bounced + self.soft_bounced + self.failed + self.unknown
            + self.suppressed
        )  # fmt: skip

    def delivered_all(self) -> bool:
        """Every recipient the audience counted reached a final state."""
        return self.audience_total is not None and self.final >= self.audience_total

    def take(self, report: DeliveryProgress) -> bool:
        """Adopt a delivery report unless a newer one was adopted; True when adopted."""
        newer = (
            report.sequence > self.delivery_sequence
            if report.sequence or self.delivery_sequence
            else self.delivery_at is None or report.occurred_at >= self.delivery_at
        )
        if not newer:
            return False
        self.sent, self.bounced = report.sent, report.bounced
        self.soft_bounced, self.failed = report.soft_bounced, report.failed
        self.unknown, self.suppressed = report.unknown, report.suppressed
        self.deferred, self.delivery_sequence = report.deferred, report.sequence
        self.delivery_at = report.occurred_at
        return True
