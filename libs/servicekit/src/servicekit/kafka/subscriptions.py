"""Kafka subscriptions as data: each service lists what it consumes in a table of
`Subscription`s, and `register` turns the table into consumers with one policy for all.

The policy, the same for every subscription of every service:
- consumer group `<namespace><service>.<topic>`: one small group per subscription, so a
  member joining or leaving one of them does not stop the others for a rebalance;
- a new group starts at the earliest offset: nothing published before a service first
  started is skipped;
- every record is decoded on its own; one that is not a valid event of the subscription's
  model is parked on `<topic>.dlt` with the reason, and the rest of its batch goes on;
- the offset is committed after the handler returned (an error redelivers the records, so
  handlers are idempotent), unless the subscription commits for itself (`manual`): its
  handler receives a `Batch` with every record's position and the consumer to commit
  through;
- `events_consumed_total{topic}` counts events whose handler succeeded.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiokafka import ConsumerRebalanceListener
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from pydantic import SkipValidation

from contracts import Event, MalformedEvent, decode
from servicekit.kafka.deadletter import DeadLetters
from servicekit.metrics import EVENTS_CONSUMED

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
C = TypeVar("C")
TP = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Received(Generic[E]):
    """One decoded record and where it came from (`topic` without the namespace)."""

    event: E
    topic: str
    partition: int
    offset: int
    value: bytes


@dataclass(slots=True)
class Batch(Generic[E]):
    """What one fetch delivered to a `manual` subscription."""

    received: list[Received[E]]
    #: Per partition, one past the last offset fetched, parked records included: a
    #: committer may move that far once everything received before it is done.
    ends: dict[TP, int]
    #: The consumer that fetched the batch: offsets are committed through it.
    consumer: Any = None

    @property
    def events(self) -> list[E]:
        return [r.event for r in self.received]


Handler = Callable[[Any, C], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[C]):
    """One topic a service consumes.

    `handler(payload, context)` receives one event, a list of events (`batch`), or a
    `Batch` (`manual`); `context` is what the service hands to `register` (its ports).
    """

    topic: str
    model: type[Event] | tuple[type[Event], ...]
    handler: Handler[C]
    description: str
    batch: bool = False
    manual: bool = False
    max_records: int | None = None
    listener: Callable[[C], ConsumerRebalanceListener] | None = None
    consumer: Mapping[str, Any] = field(default_factory=dict)
    #: Reads a record's bytes instead of the whole model (a `contracts.wire` decoder of
    #: the fields a hot consumer keeps); raises `MalformedEvent` as the model would.
    decoder: Callable[[bytes], object] | None = None

    @property
    def models(self) -> tuple[type[Event], ...]:
        return self.model if isinstance(self.model, tuple) else (self.model,)

    def group(self, service: str, namespace: str = "") -> str:
        return f"{namespace}{service}.{self.topic}"


def register(
    broker: KafkaBroker,
    subscriptions: Sequence[Subscription[C]],
    context: C | None,
    *,
    service: str,
    namespace: str = "",
    dead_letters: DeadLetters | None = None,
) -> dict[str, Any]:
    """Declare the subscriptions on `broker`; returns the FastStream subscriber of each
    topic. With `context` None the consumers only describe themselves (AsyncAPI)."""
    created: dict[str, Any] = {}
    for sub in subscriptions:
        options: dict[str, Any] = dict(sub.consumer)
        if sub.listener is not None and context is not None:
            options["listener"] = sub.listener(context)
        if sub.batch or sub.manual:
            options.update(batch=True, max_records=sub.max_records, batch_timeout_ms=50)
        subscriber = broker.subscriber(
            namespace + sub.topic,
            group_id=sub.group(service, namespace),
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL if sub.manual else AckPolicy.NACK_ON_ERROR,
            decoder=_decoder(sub, namespace, dead_letters),
            title=f"{sub.topic}:{'|'.join(m.__name__ for m in sub.models)}",
            description=sub.description,
            **options,
        )
        subscriber(_consumer(sub, context))
        created[sub.topic] = subscriber
    return created


def _consumer(sub: Subscription[C], context: C | None) -> Callable[[Batch[Any]], Awaitable[None]]:
    consumed = EVENTS_CONSUMED.labels(sub.topic)

    async def consume(payload: Batch[Any]) -> None:
        if not payload.received:
            return  # every record of it was parked
        if sub.manual:
            await sub.handler(payload, context)  # type: ignore[arg-type]
        elif sub.batch:
            await sub.handler(payload.events, context)  # type: ignore[arg-type]
        else:
            await sub.handler(payload.received[0].event, context)  # type: ignore[arg-type]
        consumed.inc(len(payload.received))

    # The payload arrives decoded (see `_decoder`); the annotation only describes one
    # record's event in the AsyncAPI document, so validation is skipped.
    documented: Any = sub.models[0] if len(sub.models) == 1 else _union(sub.models)
    consume.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "payload",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=_SKIP[documented],
            )
        ]
    )
    consume.__name__ = consume.__qualname__ = "_".join(m.__name__ for m in sub.models)
    return consume


_SKIP: Any = SkipValidation


def _union(models: tuple[type[Event], ...]) -> Any:
    union: Any = models[0]
    for model in models[1:]:
        union = union | model
    return union


def _decoder(
    sub: Subscription[Any], namespace: str, dead_letters: DeadLetters | None
) -> Callable[[StreamMessage[Any]], Awaitable[Batch[Any]]]:
    read = _reader(sub.models) if sub.decoder is None else _fields(sub.decoder)

    async def decode_records(msg: StreamMessage[Any]) -> Batch[Any]:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        batch: Batch[Any] = Batch([], {}, getattr(msg, "consumer", None))
        for rec in records:
            topic = rec.topic.removeprefix(namespace)
            batch.ends[(topic, rec.partition)] = rec.offset + 1
            try:
                event = read(rec.value or b"", rec.headers)
            except MalformedEvent as exc:
                if dead_letters is None:
                    raise
                await dead_letters.park(rec, topic, str(exc))
                continue
            batch.received.append(Received(event, topic, rec.partition, rec.offset, rec.value))
        return batch

    return decode_records


def _fields(decoder: Callable[[bytes], object]) -> Callable[[bytes, Any], object]:
    return lambda value, _headers: decoder(value)


def _reader(models: tuple[type[Event], ...]) -> Callable[[bytes, Any], Event]:
    """Bytes and headers -> event. Several models: the `event_type` header picks one (the
    payload's own field when a producer sent no header)."""
    if len(models) == 1:
        model = models[0]
        return lambda value, _headers: decode(value, model)
    by_type = {m.model_fields["event_type"].default: m for m in models}

    def read(value: bytes, headers: Any) -> Event:
        name = next((v.decode() for k, v in headers or () if k == "event_type"), None)
        if name is None:
            try:
                name = json.loads(value).get("event_type")
            except (ValueError, AttributeError) as exc:
                raise MalformedEvent("not a JSON object with an event_type") from exc
        model = by_type.get(name or "")
        if model is None:
            raise MalformedEvent(f"unexpected event_type {name!r}")
        return decode(value, model)

    return read
