"""Event contracts: the single source of truth for what crosses Kafka."""

from contracts.base import Address, BounceKind, Event, Timing
from contracts.codec import MalformedEvent, decode, decode_any, encode
from contracts.events import (
    ALL_EVENTS,
    AudienceResolved,
    Bounced,
    CampaignCancelled,
    CampaignScheduled,
    Clicked,
    DeliveryProgress,
    DigestSent,
    Footer,
    MessageSent,
    Opened,
    RecipientResolved,
    RecipientSpec,
    StaffMember,
    TrackingSettings,
    Unsubscribed,
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
    "DeliveryProgress",
    "DigestSent",
    "Event",
    "Footer",
    "MalformedEvent",
    "MessageSent",
    "Opened",
    "RecipientResolved",
    "RecipientSpec",
    "StaffMember",
    "Timing",
    "TrackingSettings",
    "Unsubscribed",
    "decode",
    "decode_any",
    "encode",
]
