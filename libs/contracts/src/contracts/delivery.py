"""The events delivery publishes: outcomes of messages, reports about them, progress.

The rules for changing these models are in the package docstring (`contracts/__init__.py`).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts import topics
from contracts.base import BounceKind, EmailAddress, Event, Model
from contracts.subjects import AddressedMessageEvent, CampaignEvent


class MessageSent(AddressedMessageEvent):
    """The receiving SMTP server accepted the message (2xx)."""

    topic = topics.MESSAGE_SENT
    event_type: Literal["MessageSent"] = "MessageSent"
    schema_version: Literal[1] = 1

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


class MessageBlocked(AddressedMessageEvent):
    """A message was refused for policy, spam or reputation reasons (5.7.x, 5.3.4, relay
    access denied): the address is fine, so the customer is never registered."""

    topic = topics.MESSAGE_BLOCKED
    event_type: Literal["MessageBlocked"] = "MessageBlocked"
    schema_version: Literal[1] = 1

    smtp_code: int | None = None
    enhanced_status: str | None = None
    diagnostic: str = ""


class Complained(AddressedMessageEvent):
    """The recipient of a message reported it as spam (a feedback-loop report, RFC 5965):
    the address is excluded from bulk mail like an unsubscribe."""

    topic = topics.COMPLAINED
    event_type: Literal["Complained"] = "Complained"
    schema_version: Literal[1] = 1
    key = "email"

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


class UnknownResolution(CampaignEvent):
    """An operator decided what becomes of a campaign's messages whose outcome is unknown
    (their SMTP transaction was in flight when a process died)."""

    topic = topics.UNKNOWN_RESOLUTION
    event_type: Literal["UnknownResolution"] = "UnknownResolution"
    schema_version: Literal[1] = 1

    action: Literal["resend", "give_up"]
    requested_by_user_id: UUID


class DeliveryProgress(CampaignEvent):
    """Absolute per-campaign delivery counters from the ledger; the snapshot with the higher
    `sequence` supersedes the other. Whether the campaign is complete is the composer's to
    decide (it holds the audience size)."""

    topic = topics.DELIVERY_PROGRESS
    event_type: Literal["DeliveryProgress"] = "DeliveryProgress"
    schema_version: Literal[1] = 1

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
