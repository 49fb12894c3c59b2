"""Kafka subscribers: decode -> handler -> publish. Each states its ack policy."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from faststream.kafka import KafkaRouter

from contracts import Clicked, Opened, topics
from servicekit.kafka import DEFAULT_ACK_POLICY
from servicekit.metrics import EVENTS_CONSUMED


@dataclass
class Deps:
    pool: asyncpg.Pool = field(init=False)


def register(router: KafkaRouter, deps: Deps, *, group_id: str) -> None:
    @router.subscriber(
        topics.OPENED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Opens of tracked messages, to be notified in digests.",
    )
    async def on_opened(event: Opened) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()

    @router.subscriber(
        topics.CLICKED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Clicks on tracked links, to be notified in digests.",
    )
    async def on_clicked(event: Clicked) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
