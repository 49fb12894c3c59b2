"""Kafka wiring: a broker with a durable producer, event publishing, and dead letters.

Every service builds its broker here so that all producers are idempotent with acks=all
and all consumers share one dead-letter policy: a message that cannot be decoded into the
subscriber's event type is copied to `<topic>.dlt` with the reason in its headers, and the
consumer goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from faststream import AckPolicy
from faststream._internal.middlewares import BaseMiddleware
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.message import StreamMessage
from prometheus_client import Counter
from pydantic import ValidationError

from contracts import Event, MalformedEvent, encode
from contracts.topics import dead_letter
from servicekit.metrics import EVENTS_PUBLISHED, MESSAGES_CONSUMED, PUBLISH_SECONDS

log = logging.getLogger(__name__)

DEAD_LETTERS = Counter("dead_letters_total", "Messages parked on a dead-letter topic", ["topic"])

#: Ack policy of every subscriber unless it says otherwise: commit the offset only after the
#: handler returned; on an error the message is redelivered (the handler must be idempotent).
DEFAULT_ACK_POLICY = AckPolicy.NACK_ON_ERROR


class DeadLetterMiddleware(BaseMiddleware):
    """Parks undecodable messages on the dead-letter topic instead of retrying them forever."""

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        try:
            result = await call_next(msg)
        except (ValidationError, MalformedEvent) as exc:
            broker: KafkaBroker = self.context.get("broker")
            for rec in _records(msg):
                await park(
                    broker,
                    rec.topic,
                    rec.value,
                    reason=str(exc)[:500],
                    partition=rec.partition,
                    offset=rec.offset,
                )
            return None
        for rec in _records(msg):
            MESSAGES_CONSUMED.labels(rec.topic).inc()
        return result


def _records(msg: StreamMessage[Any]) -> list[Any]:
    # A batch subscriber's raw message is the tuple of the batch's records.
    raw = msg.raw_message
    return list(raw) if isinstance(raw, tuple) else [raw]


async def park(
    broker: KafkaBroker,
    topic: str,
    value: bytes | None,
    *,
    reason: str,
    partition: int = -1,
    offset: int = -1,
) -> None:
    """Copy one message to the dead-letter topic of `topic`."""
    DEAD_LETTERS.labels(topic).inc()
    log.warning("dead-lettering %s[%s]@%s: %s", topic, partition, offset, reason)
    await broker.publish(
        value or b"",
        dead_letter(topic),
        headers={
            "x-error": reason.replace("\n", " "),
            "x-source-topic": topic,
            "x-source-partition": str(partition),
            "x-source-offset": str(offset),
        },
    )


def make_broker(bootstrap_servers: str, *, client_id: str, **producer: Any) -> KafkaBroker:
    """A broker whose producer never loses or duplicates an acknowledged event."""
    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 30_000,
    }
    options.update(producer)
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        middlewares=[DeadLetterMiddleware],
        allow_auto_create_topics=False,
        graceful_timeout=20.0,
        log_level=logging.DEBUG,
        **options,
    )


class KafkaPublisher:
    """The `Publisher` port on top of a broker: returns once Kafka acknowledged every event."""

    def __init__(self, broker: KafkaBroker, *, namespace: str = "") -> None:
        self._broker = broker
        self._namespace = namespace

    async def publish(self, events: Iterable[Event]) -> None:
        events = list(events)
        if not events:
            return
        with PUBLISH_SECONDS.time():
            await asyncio.gather(
                *(
                    self._broker.publish(
                        encode(e),
                        self._namespace + e.topic,
                        key=e.partition_key(),
                        headers={"event_type": e.event_type, "content-type": "application/json"},
                    )
                    for e in events
                )
            )
        for e in events:
            EVENTS_PUBLISHED.labels(e.topic).inc()

    async def publish_raw(self, records: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Already-encoded (topic, key, value) records, e.g. from an outbox."""
        await asyncio.gather(
            *(
                self._broker.publish(value, self._namespace + topic, key=key)
                for topic, key, value in records
            )
        )


def declare_emits(router: KafkaRouter, *models: type[Event]) -> None:
    """Record in the AsyncAPI document which events the service publishes."""
    for model in models:
        router.publisher(
            model.topic,
            schema=model,
            title=f"{model.topic}:{model.__name__}",
            description=(model.__doc__ or "").strip(),
        )
