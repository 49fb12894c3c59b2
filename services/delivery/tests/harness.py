"""Helpers of the delivery integration tests: delivery in-process on a namespace and
schema, a Kafka bus, the dev sink's API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

import testkit.events as support
from contracts import DeliveryProgress, Event, decode_any
from delivery.main import create_app
from delivery.settings import Settings
from testkit.asgi import Started, started
from testkit.kafka import publish, publish_stream


def settings_for(stack: Any, namespace: str, schema: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": stack.kafka,
        "database_url": stack.database_url,
        "smtp_host": stack.smtp_host,
        "smtp_port": stack.smtp_port,
        "tracking_base_url": support.TRACKING,
        "token_secret": support.TOKEN_SECRET,
        "kafka_namespace": namespace,
        "database_schema": schema,
        "retry_base_seconds": 0.5,
        "heartbeat_seconds": 0.5,
        "owner_timeout_seconds": 3.0,
        "progress_interval_seconds": 0.3,
        "kafka_session_timeout_ms": 6000,
        "smtp_concurrency": 4,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Started]:
    async with started(create_app(settings)) as service:
        yield service


def finals(progress: DeliveryProgress) -> int:
    """Messages of the campaign in a final state, as the composer counts them."""
    p = progress
    return p.sent + p.bounced + p.soft_bounced + p.failed + p.unknown + p.suppressed


def done(campaign_id: object, total: int) -> Callable[[list[Event]], bool]:
    """A condition: some progress report of the campaign counts `total` final messages."""
    return lambda seen: any(
        isinstance(e, DeliveryProgress) and e.campaign_id == campaign_id and finals(e) >= total
        for e in seen
    )


class Bus:
    """Publishes into a namespace and reads what delivery published there."""

    def __init__(self, bootstrap: str, namespace: str) -> None:
        self._bootstrap = bootstrap
        self.namespace = namespace
        self.seen: list[Event] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        topics = ["message.sent", "message.bounced", "delivery.progress"]
        self._consumer = AIOKafkaConsumer(
            *(self.namespace + t for t in topics),
            bootstrap_servers=self._bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def publish(self, events: Iterable[Event]) -> None:
        await publish(self._bootstrap, self.namespace, events)

    async def stream(self, campaign: Event, recipients: Iterable[Event]) -> None:
        await publish_stream(self._bootstrap, self.namespace, campaign, recipients)

    def latest(self, kind: type[DeliveryProgress] = DeliveryProgress) -> DeliveryProgress:
        return max(self.of(kind), key=lambda e: e.sequence)

    async def until(self, condition: Callable[[list[Event]], bool], timeout: float = 60) -> None:
        assert self._consumer is not None
        deadline = time.monotonic() + timeout
        while not condition(self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; saw {[type(e).__name__ for e in self.seen]}")
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                self.seen.extend(decode_any(r.value) for r in records)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.seen if isinstance(e, kind)]


class Sink:
    def __init__(self, api: str) -> None:
        self._client = httpx.AsyncClient(base_url=api, timeout=10)

    async def messages_to(self, address: str) -> list[dict[str, Any]]:
        """Summaries of every caught mail for `address`."""
        response = await self._client.get("/messages", params={"to": address, "limit": 1000})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    async def raw(self, message_id: int) -> bytes:
        return (await self._client.get(f"/messages/{message_id}/raw")).content

    async def close(self) -> None:
        await self._client.aclose()
