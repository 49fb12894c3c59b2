"""Kafka subscribers: decode -> handler. Each states its ack policy: the offset is committed
only after the handler's transaction committed; a redelivery is recognised by event id."""

from __future__ import annotations

from dataclasses import dataclass, field

from faststream.kafka import KafkaRouter

from composer import progress
from composer.ports import Clock, Store
from contracts import (
    AudienceResolved,
    CampaignCancelled,
    CampaignScheduled,
    Clicked,
    DeliveryProgress,
    Opened,
    topics,
)
from servicekit.kafka import DEFAULT_ACK_POLICY, declare_emits
from servicekit.metrics import EVENTS_CONSUMED


@dataclass
class Deps:
    store: Store = field(init=False)
    clock: Clock = field(init=False)


def register(router: KafkaRouter, deps: Deps, *, group_id: str) -> None:
    """One consumer group per subscriber: a start or restart then rebalances one small group
    per topic instead of a cascade of rebalances in one shared group."""
    declare_emits(router, CampaignScheduled, CampaignCancelled)

    @router.subscriber(
        topics.AUDIENCE_RESOLVED,
        group_id=f"{group_id}.audience",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Audience size and exclusions by reason.",
    )
    async def on_audience_resolved(event: AudienceResolved) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await progress.on_audience_resolved(event, store=deps.store, clock=deps.clock)

    @router.subscriber(
        topics.DELIVERY_PROGRESS,
        group_id=f"{group_id}.delivery",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Delivery counters per campaign; completion.",
    )
    async def on_delivery_progress(event: DeliveryProgress) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await progress.on_delivery_progress(event, store=deps.store, clock=deps.clock)

    @router.subscriber(
        topics.OPENED,
        group_id=f"{group_id}.opened",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Opens, counted per campaign.",
    )
    async def on_opened(event: Opened) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await progress.on_opened(event, store=deps.store)

    @router.subscriber(
        topics.CLICKED,
        group_id=f"{group_id}.clicked",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Clicks, counted per campaign.",
    )
    async def on_clicked(event: Clicked) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await progress.on_clicked(event, store=deps.store)
