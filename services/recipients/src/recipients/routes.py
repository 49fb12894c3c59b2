"""What the recipients service consumes, and what it publishes."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from contracts import (
    AudienceResolved,
    Bounced,
    CampaignScheduled,
    Complained,
    RecipientResolved,
    Unsubscribed,
    topics,
)
from recipients import handlers, metrics
from recipients.handlers import AudienceStream, Pace
from recipients.settings import Settings
from servicekit.kafka import Subscription

if TYPE_CHECKING:
    from recipients.bootstrap import Ports

#: What the service publishes: the audience (with the campaign's snapshot ahead of it on
#: every partition of the recipient stream), its summary, and staff unsubscribes (outbox).
EMITS = (
    RecipientResolved,
    (topics.RECIPIENT_RESOLVED, CampaignScheduled),
    AudienceResolved,
    Unsubscribed,
)


async def on_campaign_scheduled(event: CampaignScheduled, ports: Ports, *, pace: Pace) -> None:
    stream = AudienceStream(
        ports.audience, ports.resolutions, ports.sink, ports.bus, ports.clock, pace
    )
    with metrics.RESOLUTION_SECONDS.time():
        summary = await handlers.resolve_audience(event, stream)
    if summary is not None:
        metrics.RECIPIENTS.inc(summary.recipients)
        for reason, count in summary.excluded.items():
            metrics.EXCLUDED.labels(reason).inc(count)


async def on_bounced(event: Bounced, ports: Ports) -> None:
    if await handlers.register_bounce(event, suppressions=ports.suppressions):
        metrics.SUPPRESSIONS.labels("bounced").inc()


async def on_complained(event: Complained, ports: Ports) -> None:
    if await handlers.register_complaint(event, suppressions=ports.suppressions):
        metrics.SUPPRESSIONS.labels("complained").inc()


async def on_unsubscribed(event: Unsubscribed, ports: Ports) -> None:
    if await handlers.register_unsubscribe(event, suppressions=ports.suppressions):
        metrics.SUPPRESSIONS.labels("unsubscribed").inc()


def subscriptions(settings: Settings) -> list[Subscription[Ports]]:
    return [
        # The offset is committed once the whole audience and its summary are acknowledged;
        # until then a crash redelivers the event and the checkpoint lets the next run
        # continue. One event at a time, with a poll interval that allows for a long one.
        Subscription(
            topics.CAMPAIGN_SCHEDULED,
            CampaignScheduled,
            partial(
                on_campaign_scheduled,
                pace=Pace(settings.resolve_batch_size, settings.resolve_max_in_flight),
            ),
            "Released campaigns whose audience is to be resolved.",
            consumer={
                "max_poll_records": 1,
                "max_poll_interval_ms": settings.resolve_max_minutes * 60_000,
            },
        ),
        Subscription(
            topics.MESSAGE_BOUNCED,
            Bounced,
            on_bounced,
            "Bounces: hard ones register the customer as bounced.",
        ),
        Subscription(
            topics.COMPLAINED,
            Complained,
            on_complained,
            "Spam complaints: the address is kept out of every later mail.",
        ),
        Subscription(
            topics.UNSUBSCRIBED,
            Unsubscribed,
            on_unsubscribed,
            "Unsubscribes: the customer is excluded from bulk mail.",
        ),
    ]
