"""Kafka subscribers: decode -> handler -> publish. Each states its ack policy."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from faststream.kafka import KafkaRouter

from contracts import RecipientResolved, topics
from servicekit.kafka import DEFAULT_ACK_POLICY
from servicekit.metrics import EVENTS_CONSUMED


@dataclass
class Deps:
    pool: asyncpg.Pool = field(init=False)


def register(router: KafkaRouter, deps: Deps, *, group_id: str) -> None:

    @router.subscriber(
        topics.RECIPIENT_RESOLVED,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        description="One message to render and send.",
    )
    async def on_recipient_resolved(event: RecipientResolved) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
