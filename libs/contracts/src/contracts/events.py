"""Every event the services exchange over Kafka (delivery's are in `contracts.delivery`, the
parts of a campaign snapshot in `contracts.parts`).

The rules for changing these models are in the package docstring (`contracts/__init__.py`).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts import topics
from contracts.base import Address, EmailAddress, Event, Timing
from contracts.delivery import (
    Bounced,
    Complained,
    DeliveryProgress,
    MessageBlocked,
    MessageSent,
    ReportReceived,
    UnknownResolution,
)
from contracts.parts import (
    CampaignKind,
    Footer,
    RecipientSpec,
    SenderMode,
    SigningKey,
    StaffMember,
    TrackingSettings,
)
from contracts.subjects import AddressedMessageEvent, CampaignEvent, MessageEvent

# ---------------------------------------------------------------- composer


class CampaignScheduled(CampaignEvent):
    """A campaign was released for sending: an immutable snapshot of everything needed."""

    topic = topics.CAMPAIGN_SCHEDULED
    event_type: Literal["CampaignScheduled"] = "CampaignScheduled"
    schema_version: Literal[1] = 1

    name: str = Field(default="", description="Internal campaign name.")
    subject: str = Field(description="Subject template (may contain merge fields).")
    html_body: str | None = Field(default=None, description="HTML body template.")
    text_body: str | None = Field(default=None, description="Plain text body template.")
    merge_fields: list[str] = Field(
        default=[], description="Merge fields used in subject or bodies, parsed at compose time."
    )
    exclude_missing_merge: bool = Field(
        default=False,
        description="Skip customers lacking a value for any merge field used (else render empty).",
    )
    footer: Footer = Field(default_factory=Footer)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    recipients: RecipientSpec
    sender_mode: SenderMode = Field(
        default="self",
        description="self: the creator; changed: another address chosen by a manager; "
        "on_behalf_user / on_behalf_registered: sent on behalf (代理送信).",
    )
    sender: Address = Field(description="Resolved campaign sender (From).")
    sender_user_id: UUID | None = Field(
        default=None, description="User behind `sender`, when the sender is a user."
    )
    send_as_owner: bool = Field(
        default=False, description="Customers with an owner get the mail from that owner."
    )
    operator: StaffMember = Field(description="User who composed and released the campaign.")
    notify_user_id: UUID = Field(
        description="Default notification target: the sender user, the chosen user when sent "
        "on behalf, the creator for a registered sender. Owners override it per customer "
        "when send_as_owner is on."
    )
    staff: list[StaffMember] = Field(
        default=[],
        description="Users who may appear as sender, owner or notification target, so that "
        "downstream services need not read the composer's tables.",
    )
    time_zone: str = Field(default="Asia/Tokyo", description="Tenant time zone (IANA name).")
    scheduled_for: AwareDatetime | None = Field(
        default=None, description="Requested send time; none for send now."
    )
    kind: CampaignKind = Field(
        default="bulk",
        description="bulk: excludes unsubscribed customers; individual (1:1 mail): honours "
        "bounces and complaints but not bulk unsubscribes; test: a send to the operator.",
    )
    signing_keys: list[SigningKey] = Field(
        default=[],
        description="DKIM keys of the sending domains the campaign's From addresses use.",
    )


class CampaignCancelled(CampaignEvent):
    """A scheduled campaign went back to drafts before release (informational)."""

    topic = topics.CAMPAIGN_CANCELLED
    event_type: Literal["CampaignCancelled"] = "CampaignCancelled"
    schema_version: Literal[1] = 1

    cancelled_by_user_id: UUID


# ---------------------------------------------------------------- recipients


class RecipientResolved(AddressedMessageEvent):
    """One recipient of a campaign, with everything delivery needs to render and send."""

    topic = topics.RECIPIENT_RESOLVED
    event_type: Literal["RecipientResolved"] = "RecipientResolved"
    schema_version: Literal[1] = 1

    message_id: UUID = Field(
        description="Deterministic id derived from campaign and customer: a replay of the "
        "same campaign yields the same id."
    )
    email: EmailAddress = Field(description="Recipient address (the only one in To).")
    name: str = Field(default="", description="Recipient display name.")
    merge_values: dict[str, str | None] = Field(
        default={}, description="Value of every merge field the campaign uses."
    )
    sender: Address = Field(description="From: the owner when sent as owner, else the campaign's.")
    notify_user_id: UUID = Field(description="User who receives open/click notifications.")


class AudienceResolved(CampaignEvent):
    """Summary of one campaign's audience resolution, published after its last recipient."""

    topic = topics.AUDIENCE_RESOLVED
    event_type: Literal["AudienceResolved"] = "AudienceResolved"
    schema_version: Literal[1] = 1

    recipients: int = Field(description="Number of RecipientResolved published.")
    excluded: dict[str, int] = Field(
        default={},
        description="Customers left out, by reason: unsubscribed, bounced, "
        "missing_merge_value, excluded_group, excluded_customer.",
    )


# ---------------------------------------------------------------- tracking


class _Hit(MessageEvent):
    notify_user_id: UUID
    user_agent: str = Field(default="", description="User-Agent of the request.")
    machine: bool = Field(
        default=False,
        description="Very likely automatic (image proxy, privacy prefetch, link scanner).",
    )
    machine_reason: str | None = Field(default=None, description="Rule that flagged it.")


class Opened(_Hit):
    """The open pixel of a message was fetched."""

    topic = topics.OPENED
    event_type: Literal["Opened"] = "Opened"
    schema_version: Literal[1] = 1


class Clicked(_Hit):
    """A tracked link of a message was followed."""

    topic = topics.CLICKED
    event_type: Literal["Clicked"] = "Clicked"
    schema_version: Literal[1] = 1

    url: str = Field(description="Destination that was in the message.")


class Unsubscribed(Event):
    """A customer unsubscribed from bulk mail (配信停止)."""

    topic = topics.UNSUBSCRIBED
    event_type: Literal["Unsubscribed"] = "Unsubscribed"
    schema_version: Literal[1] = 1
    key = "customer_id"

    customer_id: UUID
    campaign_id: UUID | None = None
    message_id: UUID | None = None
    method: Literal["one_click", "form", "api"] = Field(
        description="one_click: RFC 8058 POST; form: confirmation page; api: staff."
    )


# ---------------------------------------------------------------- notifier


class DigestSent(Event):
    """A staff member was sent the digest of one period."""

    topic = topics.DIGEST_SENT
    event_type: Literal["DigestSent"] = "DigestSent"
    schema_version: Literal[1] = 1
    key = "user_id"

    user_id: UUID
    timing: Timing
    period_start: AwareDatetime
    period_end: AwareDatetime
    first_opens: int = 0
    reopens: int = 0
    clicks: int = 0
    campaign_ids: list[UUID] = []


ALL_EVENTS: tuple[type[Event], ...] = (
    CampaignScheduled,
    CampaignCancelled,
    RecipientResolved,
    AudienceResolved,
    MessageSent,
    Bounced,
    MessageBlocked,
    Complained,
    ReportReceived,
    UnknownResolution,
    DeliveryProgress,
    Opened,
    Clicked,
    Unsubscribed,
    DigestSent,
)
