"""Kafka subscribers: decode -> handler -> publish. Each states its ack policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from faststream.kafka import KafkaRouter

from contracts import (
    AudienceResolved,
    Bounced,
    CampaignScheduled,
    RecipientResolved,
    Unsubscribed,
    topics,
)
from recipients import handlers, metrics
from recipients.ports import Audience, Clock, Publisher, RecipientSink, Resolutions, Suppressions
from servicekit.kafka import DEFAULT_ACK_POLICY, declare_emits
from servicekit.metrics import EVENTS_CONSUMED


@dataclass
class Deps:
    """Filled by create_app's lifespan before the broker starts."""

    audience: Audience = field(init=False)
    resolutions: Resolutions = field(init=False)
    sink: RecipientSink = field(init=False)
    publisher: Publisher = field(init=False)
    suppressions: Suppressions = field(init=False)
    clock: Clock = field(init=False)
    batch_size: int = 5000
    max_in_flight: int = 4


def register(router: KafkaRouter, deps: Deps, *, group_id: str, max_poll_interval_ms: int) -> None:
    declare_emits(router, RecipientResolved, AudienceResolved, Unsubscribed)

    # The offset is committed only when the handler returns, i.e. after the whole audience
    # and its summary were acknowledged; until then a crash redelivers the event and the
    # checkpoint lets the next run continue. One event at a time, and a poll interval that
    # allows for a long resolution.
    @router.subscriber(
        topics.CAMPAIGN_SCHEDULED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        max_poll_records=1,
        max_poll_interval_ms=max_poll_interval_ms,
        description="Released campaigns whose audience is to be resolved.",
    )
    async def on_campaign_scheduled(event: CampaignScheduled) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        with metrics.RESOLUTION_SECONDS.time():
            summary = await handlers.resolve_audience(
                event,
                audience=deps.audience,
                resolutions=deps.resolutions,
                sink=deps.sink,
                publisher=deps.publisher,
                clock=deps.clock,
                batch_size=deps.batch_size,
                max_in_flight=deps.max_in_flight,
            )
        if summary is not None:
            metrics.RECIPIENTS.inc(summary.recipients)
            for reason, count in summary.excluded.items():
                metrics.EXCLUDED.labels(reason).inc(count)

    @router.subscriber(
        topics.MESSAGE_BOUNCED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Bounces: hard ones register the customer as bounced.",
    )
    async def on_bounced(event: Bounced) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        if await handlers.register_bounce(event, suppressions=deps.suppressions):
            metrics.SUPPRESSIONS.labels("bounced").inc()

    @router.subscriber(
        topics.UNSUBSCRIBED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Unsubscribes: the customer is excluded from bulk mail.",
    )
    async def on_unsubscribed(event: Unsubscribed) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        if await handlers.register_unsubscribe(event, suppressions=deps.suppressions):
            metrics.SUPPRESSIONS.labels("unsubscribed").inc()
