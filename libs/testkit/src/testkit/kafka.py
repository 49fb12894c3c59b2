"""Kafka from a test's side: publish events as a service would, read a topic back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer

from contracts import Event, decode_any, topics
from servicekit.kafka import EventPublisher, event_record, producing


async def publish(bootstrap: str, namespace: str, events: Iterable[Event]) -> None:
    """Publish and wait for Kafka's acknowledgement, through the platform's own producer."""
    async with producing(bootstrap, client_id="test", namespace=namespace) as sender:
        await EventPublisher(sender).publish(events)


async def read_events(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Event]], bool],
    wait: float = 30.0,
    linger: float = 0.0,
) -> list[Event]:
    """Every event on `topic` (the full name) from the beginning, until `until(events)`
    holds (then `linger` seconds more, to catch what should not be there) or `wait`
    seconds pass."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    events: list[Event] = []
    deadline = time.monotonic() + wait
    satisfied_at: float | None = None
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            events.extend(decode_any(r.value) for rs in batches.values() for r in rs if r.value)
            if satisfied_at is None and until(events):
                satisfied_at = time.monotonic()
            if satisfied_at is not None and time.monotonic() - satisfied_at >= linger:
                break
    finally:
        await consumer.stop()
    return events


async def publish_stream(
    bootstrap: str, namespace: str, campaign: Event, recipients: Iterable[Event]
) -> None:
    """What the recipients service writes for a campaign: its snapshot on every partition
    of the recipient stream, then its recipients."""
    async with producing(bootstrap, client_id="test", namespace=namespace) as sender:
        partitions = await sender.partitions(topics.RECIPIENT_RESOLVED)
        await sender.send_and_wait(
            [
                event_record(campaign, partition=p, topic=topics.RECIPIENT_RESOLVED)
                for p in partitions
            ]
        )
        await EventPublisher(sender).publish(recipients)
