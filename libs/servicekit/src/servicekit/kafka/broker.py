"""The consuming side of a service: a FastStream broker built from the service's
subscription table, started and stopped with the service; and its AsyncAPI description."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from contracts import Event
from servicekit.kafka.deadletter import DeadLetters
from servicekit.kafka.producer import BatchSender, Record, producing
from servicekit.kafka.publisher import EventPublisher
from servicekit.kafka.subscriptions import Subscription, register
from servicekit.settings import ServiceSettings

C = TypeVar("C")


def consumer_broker(bootstrap_servers: str, *, client_id: str) -> KafkaBroker:
    # FastStream takes a string for one server: a cluster's "a:9092,b:9094" goes as a list.
    return KafkaBroker(
        [server.strip() for server in bootstrap_servers.split(",") if server.strip()],
        client_id=client_id,
        allow_auto_create_topics=False,
        graceful_timeout=20.0,
        log_level=logging.DEBUG,
    )


class Bus(Protocol):
    """Kafka as a service's wiring uses it; `KafkaBus` in production, a fake in tests."""

    def consuming(
        self, subscriptions: Sequence[Subscription[Any]], context: Any
    ) -> AbstractAsyncContextManager[object]: ...

    async def publish(self, events: Iterable[Event]) -> None: ...

    async def publish_records(self, records: Sequence[Record]) -> None: ...


class KafkaBus(EventPublisher):
    """Kafka as a service sees it: the publisher port, and consumers for its subscription
    table (`consuming`). Tests hand services a fake bus with the same two faces."""

    def __init__(
        self, bootstrap_servers: str, sender: BatchSender, *, service: str, namespace: str = ""
    ) -> None:
        super().__init__(sender)
        self._bootstrap = bootstrap_servers
        self._service = service
        self._namespace = namespace

    @asynccontextmanager
    async def consuming(
        self, subscriptions: Sequence[Subscription[C]], context: C
    ) -> AsyncIterator[dict[str, Any]]:
        """Consume while the block runs; yields each topic's FastStream subscriber. On exit
        the consumers stop taking records and wait for the handlers running."""
        broker = consumer_broker(self._bootstrap, client_id=self._service)
        subscribers = register(
            broker,
            subscriptions,
            context,
            service=self._service,
            namespace=self._namespace,
            dead_letters=DeadLetters(self.sender),
        )
        if not subscribers:
            yield subscribers
            return
        await broker.start()
        try:
            yield subscribers
        finally:
            await broker.stop()


@asynccontextmanager
async def kafka_bus(
    settings: ServiceSettings, *, service: str, **producer: Any
) -> AsyncIterator[KafkaBus]:
    """The service's bus, its durable producer started, for as long as the block runs."""
    async with producing(
        settings.kafka_bootstrap_servers,
        client_id=f"{service}-{settings.instance_id}".rstrip("-"),
        namespace=settings.kafka_namespace,
        **producer,
    ) as sender:
        yield KafkaBus(
            settings.kafka_bootstrap_servers,
            sender,
            service=service,
            namespace=settings.kafka_namespace,
        )


def asyncapi(
    service: str,
    subscriptions: Sequence[Subscription[Any]],
    emits: Sequence[type[Event] | tuple[str, type[Event]]],
    *,
    description: str = "",
    version: str = "0.1.0",
) -> dict[str, Any]:
    """The AsyncAPI document of a service: what it consumes and what it publishes (an
    event on its own topic, or (topic, event) when another topic carries it too)."""
    broker = consumer_broker("127.0.0.1:9092", client_id=service)
    register(broker, subscriptions, None, service=service)
    for emitted in emits:
        topic, model = emitted if isinstance(emitted, tuple) else (emitted.topic, emitted)
        broker.publisher(
            topic,
            schema=model,
            title=f"{topic}:{model.__name__}:published",
            description=(model.__doc__ or "").strip(),
        )
    spec = AsyncAPI(broker, title=service, version=version, description=description)
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document
