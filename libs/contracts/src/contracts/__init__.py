"""Event contracts: the single source of truth for what crosses Kafka.

Rules for changing an event model or a part of one (enforced by tests/test_schemas.py):
- additive only: a new field needs a default; never remove, rename or retype a field;
- after a change run `make schemas` and commit the regenerated JSON Schemas;
- a breaking change is a new `schema_version` (a new model), published beside the old one.
"""

from contracts.base import Address, BounceKind, Event, Timing
from contracts.codec import MalformedEvent, decode, decode_any, encode
from contracts.delivery import (
    Bounced,
    Complained,
    DeliveryProgress,
    MessageBlocked,
    MessageSent,
    ReportedRecipient,
    ReportReceived,
    UnknownResolution,
)
from contracts.events import (
    ALL_EVENTS,
    AudienceResolved,
    CampaignCancelled,
    CampaignScheduled,
    Clicked,
    DigestSent,
    Opened,
    RecipientResolved,
    Unsubscribed,
)
from contracts.parts import (
    Footer,
    RecipientSpec,
    RecipientSpecIn,
    SigningKey,
    StaffMember,
    TrackingSettings,
)

__all__ = [
    "ALL_EVENTS",
    "Address",
    "AudienceResolved",
    "BounceKind",
    "Bounced",
    "CampaignCancelled",
    "CampaignScheduled",
    "Clicked",
    "Complained",
    "DeliveryProgress",
    "DigestSent",
    "Event",
    "Footer",
    "MalformedEvent",
    "MessageBlocked",
    "MessageSent",
    "Opened",
    "RecipientResolved",
    "RecipientSpec",
    "RecipientSpecIn",
    "ReportReceived",
    "ReportedRecipient",
    "SigningKey",
    "StaffMember",
    "Timing",
    "TrackingSettings",
    "UnknownResolution",
    "Unsubscribed",
    "decode",
    "decode_any",
    "encode",
]
