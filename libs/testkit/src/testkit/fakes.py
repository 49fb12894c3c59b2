"""Fakes of the ports every service has (the bus, the database); service-specific fakes
live in each service's tests/fakes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from contracts import Event
from servicekit.kafka import Record, Subscription
from servicekit.loops import Periodic


class FakeBus:
    """Kafka without Kafka: what is published is kept; `deliver` hands events to the
    subscription table the service consumes with, as the real consumers would."""

    def __init__(self) -> None:
        self.published: list[Event] = []
        self.records: list[Record] = []
        self.subscriptions: list[Subscription[Any]] = []
        self.context: Any = None
        self.failing = False

    @asynccontextmanager
    async def consuming(
        self, subscriptions: Sequence[Subscription[Any]], context: Any
    ) -> AsyncIterator[dict[str, Any]]:
        self.subscriptions, self.context = list(subscriptions), context
        yield {}

    async def publish(self, events: Iterable[Event]) -> None:
        if self.failing:
            raise ConnectionError("Kafka is down (fake)")
        self.published.extend(events)

    async def publish_records(self, records: Sequence[Record]) -> None:
        if self.failing:
            raise ConnectionError("Kafka is down (fake)")
        self.records.extend(records)

    async def deliver(self, topic: str, events: Sequence[Event]) -> None:
        for sub in self.subscriptions:
            if sub.topic != topic:
                continue
            if sub.batch:
                await sub.handler(list(events), self.context)
            else:
                for event in events:
                    await sub.handler(event, self.context)

    async def ping(self) -> None:
        if self.failing:
            raise ConnectionError("Kafka is down (fake)")


class FakeDatabase:
    def __init__(self) -> None:
        self.up = True

    async def ping(self) -> None:
        if not self.up:
            raise ConnectionError("PostgreSQL is down (fake)")


class IdleRelay:
    """An outbox relay with nothing to relay."""

    def loop(self) -> Periodic:
        async def nothing() -> None:
            return None

        return Periodic("idle relay", nothing, interval=3600)
