"""Every event the services exchange over Kafka.

Rules for changing this file (enforced by tests/test_schemas.py):
- additive only: a new field needs a default; never remove, rename or retype a field;
- after a change run `make schemas` and commit the regenerated JSON Schemas;
- a breaking change is a new `schema_version` (a new model), published beside the old one.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts import topics
from contracts.base import Address, BounceKind, EmailAddress, Event, HeaderText, Model, Timing

# ---------------------------------------------------------------- campaign snapshot parts


class RecipientSpec(Model):
    """Who a campaign goes to, as composed. Resolution happens in the recipients service."""

    customer_ids: list[UUID] = Field(default=[], description="Customers chosen one by one.")
    include_group_ids: list[UUID] = Field(default=[], description="Groups marked 'send'.")
    exclude_group_ids: list[UUID] = Field(
        default=[], description="Groups marked 'do not send': their members are excluded."
    )
    excluded_customer_ids: list[UUID] = Field(
        default=[], description="Customers excluded one by one (e.g. inside an included group)."
    )
    addresses: list[EmailAddress] = Field(
        default=[],
        description="Addresses that are no customer (individual mail): resolved on their "
        "own, with only `email` as merge value.",
    )
    deliver_to: EmailAddress | None = Field(
        default=None,
        description="Test sends: every recipient's mail goes to this address instead.",
    )


class TrackingSettings(Model):
    track_opens: bool = Field(default=True, description="Add an open pixel to the HTML part.")
    track_clicks: bool = Field(default=True, description="Rewrite links through tracking.")
    first_open_timing: Timing = Field(
        default=Timing.DAILY, description="Digest timing for first opens."
    )
    reopen_timing: Timing = Field(default=Timing.DAILY, description="Digest timing for re-opens.")
    click_timing: Timing = Field(default=Timing.DAILY, description="Digest timing for clicks.")


class Footer(Model):
    """The legal footer (Act on Specified Electronic Mail): unsubscribe link and address."""

    enabled: bool = Field(default=True, description="Append the footer to every mail.")
    company_name: str = Field(default="", description="Tenant's company name.")
    postal_address: str = Field(default="", description="Tenant's postal address.")
    contact: str = Field(default="", description="Sender contact (phone or address).")
    disabled_by_user_id: UUID | None = Field(
        default=None, description="Who turned the footer off (set when enabled is false)."
    )
    disabled_at: AwareDatetime | None = Field(default=None, description="When it was turned off.")


class StaffMember(Model):
    """A user of the tenant as known when the campaign was released."""

    user_id: UUID
    name: HeaderText = ""
    email: EmailAddress
    signature: str = Field(default="", description="Signature text; may be empty.")


SenderMode = Literal["self", "changed", "on_behalf_user", "on_behalf_registered"]

CampaignKind = Literal["bulk", "individual", "test"]


class SigningKey(Model):
    """A DKIM key of a tenant's sending domain, as delivery needs it to sign."""

    domain: str = Field(description="The sending domain (d=), lower case.")
    selector: str = Field(description="DKIM selector (s=).")
    algorithm: Literal["rsa-sha256", "ed25519-sha256"]
    private_key: str = Field(
        description="The PKCS#8 PEM key, encrypted for delivery (Fernet token); never clear."
    )


# ---------------------------------------------------------------- composer


class CampaignScheduled(Event):
    """A campaign was released for sending: an immutable snapshot of everything needed."""

    topic = topics.CAMPAIGN_SCHEDULED
    event_type: Literal["CampaignScheduled"] = "CampaignScheduled"
    schema_version: Literal[1] = 1
    key = "campaign_id"

    campaign_id: UUID
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


class CampaignCancelled(Event):
    """A scheduled campaign went back to drafts before release (informational)."""

    topic = topics.CAMPAIGN_CANCELLED
    event_type: Literal["CampaignCancelled"] = "CampaignCancelled"
    schema_version: Literal[1] = 1
    key = "campaign_id"

    campaign_id: UUID
    cancelled_by_user_id: UUID


# ---------------------------------------------------------------- recipients


class RecipientResolved(Event):
    """One recipient of a campaign, with everything delivery needs to render and send."""

    topic = topics.RECIPIENT_RESOLVED
    event_type: Literal["RecipientResolved"] = "RecipientResolved"
    schema_version: Literal[1] = 1
    key = "message_id"

    campaign_id: UUID
    message_id: UUID = Field(
        description="Deterministic id derived from campaign and customer: a replay of the "
        "same campaign yields the same id."
    )
    customer_id: UUID
    email: EmailAddress = Field(description="Recipient address (the only one in To).")
    name: str = Field(default="", description="Recipient display name.")
    merge_values: dict[str, str | None] = Field(
        default={}, description="Value of every merge field the campaign uses."
    )
    sender: Address = Field(description="From: the owner when sent as owner, else the campaign's.")
    notify_user_id: UUID = Field(description="User who receives open/click notifications.")


class AudienceResolved(Event):
    """Summary of one campaign's audience resolution, published after its last recipient."""

    topic = topics.AUDIENCE_RESOLVED
    event_type: Literal["AudienceResolved"] = "AudienceResolved"
    schema_version: Literal[1] = 1
    key = "campaign_id"

    campaign_id: UUID
    recipients: int = Field(description="Number of RecipientResolved published.")
    excluded: dict[str, int] = Field(
        default={},
        description="Customers left out, by reason: unsubscribed, bounced, "
        "missing_merge_value, excluded_group, excluded_customer.",
    )


# ---------------------------------------------------------------- delivery


class MessageSent(Event):
    """The receiving SMTP server accepted the message (2xx)."""

    topic = topics.MESSAGE_SENT
    event_type: Literal["MessageSent"] = "MessageSent"
    schema_version: Literal[1] = 1
    key = "message_id"

    campaign_id: UUID
    message_id: UUID
    customer_id: UUID
    email: EmailAddress
    name: str = Field(default="", description="Recipient display name.")
    notify_user_id: UUID
    smtp_response: str = Field(default="", description="Server reply text.")


class Bounced(Event):
    """A message was refused, at SMTP time by delivery or later as a DSN by tracking."""

    topic = topics.MESSAGE_BOUNCED
    event_type: Literal["Bounced"] = "Bounced"
    schema_version: Literal[1] = 1
    key = "email"

    campaign_id: UUID | None = None
    message_id: UUID | None = None
    customer_id: UUID | None = Field(
        default=None,
        description="Known for SMTP-time bounces; a DSN identifies tenant, message and "
        "address only, so readers fall back to (tenant_id, email).",
    )
    email: EmailAddress = Field(description="The address that bounced.")
    kind: BounceKind = Field(description="hard: permanent (5xx); soft: temporary, retries over.")
    smtp_code: int | None = Field(default=None, description="Basic SMTP reply code, e.g. 550.")
    enhanced_status: str | None = Field(default=None, description="RFC 3463 code, e.g. 5.1.1.")
    diagnostic: str = Field(default="", description="Server diagnostic text.")
    source: Literal["smtp", "dsn"] = Field(default="smtp", description="Where it was learnt.")


class MessageBlocked(Event):
    """A message was refused for policy, spam or reputation reasons (5.7.x, 5.3.4, relay
    access denied): the address is fine, so the customer is never registered."""

    topic = topics.MESSAGE_BLOCKED
    event_type: Literal["MessageBlocked"] = "MessageBlocked"
    schema_version: Literal[1] = 1
    key = "message_id"

    campaign_id: UUID
    message_id: UUID
    customer_id: UUID
    email: EmailAddress
    smtp_code: int | None = None
    enhanced_status: str | None = None
    diagnostic: str = ""


class Complained(Event):
    """The recipient of a message reported it as spam (a feedback-loop report, RFC 5965):
    the address is excluded from bulk mail like an unsubscribe."""

    topic = topics.COMPLAINED
    event_type: Literal["Complained"] = "Complained"
    schema_version: Literal[1] = 1
    key = "email"

    campaign_id: UUID
    message_id: UUID
    customer_id: UUID
    email: EmailAddress
    feedback_type: str = Field(default="abuse", description="ARF Feedback-Type.")


class ReportedRecipient(Model):
    """One recipient block of a delivery status notification."""

    email: EmailAddress
    action: str = Field(description="RFC 3464 Action: failed, delayed, delivered, ...")
    status: str | None = Field(default=None, description="RFC 3463 status, e.g. 5.1.1.")
    smtp_code: int | None = None
    diagnostic: str = ""


class ReportReceived(Event):
    """A report about one message arrived at its return path: a delivery status
    notification (RFC 3464) or a feedback-loop complaint (ARF, RFC 5965). The address it
    names is only believed when it is the address the message went to: delivery checks."""

    topic = topics.REPORT_RECEIVED
    event_type: Literal["ReportReceived"] = "ReportReceived"
    schema_version: Literal[1] = 1
    key = "message_id"

    message_id: UUID
    kind: Literal["dsn", "arf"]
    recipients: list[ReportedRecipient] = Field(
        default=[], description="DSN: the recipient blocks that report a problem."
    )
    complained_by: EmailAddress | None = Field(
        default=None, description="ARF: the Original-Rcpt-To of the complaint."
    )
    feedback_type: str = ""


class UnknownResolution(Event):
    """An operator decided what becomes of a campaign's messages whose outcome is unknown
    (their SMTP transaction was in flight when a process died)."""

    topic = topics.UNKNOWN_RESOLUTION
    event_type: Literal["UnknownResolution"] = "UnknownResolution"
    schema_version: Literal[1] = 1
    key = "campaign_id"

    campaign_id: UUID
    action: Literal["resend", "give_up"]
    requested_by_user_id: UUID


class DeliveryProgress(Event):
    """Absolute per-campaign delivery counters from the ledger; the snapshot with the higher
    `sequence` supersedes the other. Whether the campaign is complete is the composer's to
    decide (it holds the audience size)."""

    topic = topics.DELIVERY_PROGRESS
    event_type: Literal["DeliveryProgress"] = "DeliveryProgress"
    schema_version: Literal[1] = 1
    key = "campaign_id"

    campaign_id: UUID
    total: int | None = Field(
        default=None, description="Audience size; no longer set (see the composer's progress)."
    )
    sent: int = 0
    bounced: int = Field(default=0, description="Hard bounces at SMTP time.")
    soft_bounced: int = Field(default=0, description="Gave up after retries.")
    failed: int = Field(default=0, description="Could not be rendered or sent for other reasons.")
    unknown: int = Field(
        default=0, description="SMTP transaction in flight when a process died; never resent."
    )
    suppressed: int = Field(
        default=0, description="Dropped because the customer became suppressed after resolution."
    )
    completed: bool = Field(
        default=False, description="No longer set: the composer decides completion."
    )
    deferred: int = Field(
        default=0, description="Waiting for another attempt after a temporary failure."
    )
    blocked: int = Field(
        default=0,
        description="Refused for policy, spam or reputation (5.7.x): never registers the customer.",
    )
    complained: int = Field(
        default=0, description="Delivered, then reported as spam by the recipient (ARF)."
    )
    sequence: int = Field(
        default=0,
        description="Grows with every change of the campaign's ledger: of two snapshots, the "
        "higher one is the newer, whichever delivery process sent it.",
    )


# ---------------------------------------------------------------- tracking


class _Hit(Event):
    key = "message_id"

    campaign_id: UUID
    message_id: UUID
    customer_id: UUID
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
