"""Events onto Kafka: the `Publisher` port every service's handlers use.

A record carries its event type in a header, so a reader of a topic that holds several
event types picks the model without parsing the payload first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from contracts import Event, encode
from servicekit.kafka.producer import BatchSender, Record

EVENT_TYPE = "event_type"


def event_headers(event_type: str) -> tuple[tuple[str, bytes], ...]:
    return ((EVENT_TYPE, event_type.encode()), ("content-type", b"application/json"))


def event_record(event: Event, *, partition: int | None = None, topic: str | None = None) -> Record:
    """The record of an event, on its own topic unless another one carries it too."""
    return Record(
        topic or event.topic,
        event.partition_key(),
        encode(event),
        event_headers(event.event_type),
        partition,
    )


class EventPublisher:
    """Returns once Kafka acknowledged every event."""

    def __init__(self, sender: BatchSender) -> None:
        self.sender = sender

    async def publish(self, events: Iterable[Event]) -> None:
        records = [event_record(e) for e in events]
        if records:
            await self.sender.send_and_wait(records)

    async def publish_records(self, records: Sequence[Record]) -> None:
        """Already-encoded records, e.g. from an outbox."""
        if records:
            await self.sender.send_and_wait(records)

    async def ping(self) -> None:
        await self.sender.ping()
