"""What the composer consumes: campaign progress from the other services' events. Each
handler is idempotent by event id (a redelivery changes nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from composer import progress
from composer.settings import Settings
from contracts import (
    AudienceResolved,
    CampaignCancelled,
    CampaignScheduled,
    Clicked,
    DeliveryProgress,
    Opened,
    topics,
)
from servicekit.kafka import Subscription

if TYPE_CHECKING:
    from composer.bootstrap import Ports


async def on_audience_resolved(event: AudienceResolved, ports: Ports) -> None:
    await progress.on_audience_resolved(event, store=ports.store, clock=ports.clock)


async def on_delivery_progress(event: DeliveryProgress, ports: Ports) -> None:
    await progress.on_delivery_progress(event, store=ports.store, clock=ports.clock)


async def on_opened(event: Opened, ports: Ports) -> None:
    await progress.on_opened(event, store=ports.store)


async def on_clicked(event: Clicked, ports: Ports) -> None:
    await progress.on_clicked(event, store=ports.store)


def subscriptions(_: Settings) -> list[Subscription[Ports]]:
    return [
        Subscription(
            topics.AUDIENCE_RESOLVED,
            AudienceResolved,
            on_audience_resolved,
            "Audience size and exclusions by reason.",
        ),
        Subscription(
            topics.DELIVERY_PROGRESS,
            DeliveryProgress,
            on_delivery_progress,
            "Delivery counters per campaign; completion.",
        ),
        Subscription(topics.OPENED, Opened, on_opened, "Opens, counted per campaign."),
        Subscription(topics.CLICKED, Clicked, on_clicked, "Clicks, counted per campaign."),
    ]


#: What the composer publishes (through its outbox).
EMITS = (CampaignScheduled, CampaignCancelled)
