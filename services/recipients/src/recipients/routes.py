"""Kafka subscribers: decode -> handler -> publish. Each states its ack policy."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from faststream.kafka import KafkaRouter

from contracts import Bounced, CampaignScheduled, Unsubscribed, topics
from servicekit.kafka import DEFAULT_ACK_POLICY
from servicekit.metrics import EVENTS_CONSUMED


@dataclass
class Deps:
    pool: asyncpg.Pool = field(init=False)


def register(router: KafkaRouter, deps: Deps, *, group_id: str) -> None:

    @router.subscriber(
        topics.CAMPAIGN_SCHEDULED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Released campaigns whose audience is to be resolved.",
    )
    async def on_campaign_scheduled(event: CampaignScheduled) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()

    @router.subscriber(
        topics.MESSAGE_BOUNCED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Bounces: hard ones register the customer as bounced.",
    )
    async def on_bounced(event: Bounced) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()

    @router.subscriber(
        topics.UNSUBSCRIBED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Unsubscribes: the customer is excluded from bulk mail.",
    )
    async def on_unsubscribed(event: Unsubscribed) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
