"""A recipients service running in-process on its own Kafka namespace and PostgreSQL schema,
plus helpers to publish its input events and read its output topics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import recipients_fakes as fakes
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from contracts import Event, decode_any, encode
from recipients.main import create_app
from recipients.settings import Settings
from servicekit.admin import create_topics


def settings_for(stack: Any, kafka_namespace: str, pg_schema: str, **extra: Any) -> Settings:
    return Settings(
        kafka_bootstrap_servers=stack.kafka,
        database_url=stack.database_url,
        database_schema=pg_schema,
        kafka_namespace=kafka_namespace,
        token_secret="integration",
        **extra,
    )


@dataclass
class Service:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings
    keys: fakes.FakeKeyVerifier

    @property
    def namespace(self) -> str:
        return self.settings.kafka_namespace

    async def publish(self, *events: Event) -> None:
        await publish(self.settings.kafka_bootstrap_servers, self.namespace, events)

    async def read(
        self, topic: str, *, until: Callable[[list[Event]], bool], **options: Any
    ) -> list[Event]:
        return await read_events(
            self.settings.kafka_bootstrap_servers, self.namespace + topic, until=until, **options
        )


@asynccontextmanager
async def private_namespace_and_schema(stack: Any) -> AsyncIterator[tuple[str, str]]:
    """Like the root fixtures `kafka_namespace` and `pg_schema`, for longer-lived fixtures."""
    namespace, schema = f"t{uuid.uuid4().hex[:10]}.", f"t_{uuid.uuid4().hex[:12]}"
    await create_topics(stack.kafka, namespace)
    try:
        yield namespace, schema
    finally:
        conn = await asyncpg.connect(stack.database_url)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Service]:
    app = create_app(settings)
    keys = fakes.FakeKeyVerifier()
    app.state.key_verifier = keys
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://recipients") as http:
            yield Service(app, http, settings, keys)


@pytest.fixture(scope="module")
async def service(stack: Any) -> AsyncIterator[Service]:
    """One service per test module; tests keep apart by using their own tenants."""
    async with private_namespace_and_schema(stack) as (namespace, schema):
        settings = settings_for(stack, namespace, schema, resolve_batch_size=50)
        async with running(settings) as service:
            yield service


async def publish(bootstrap: str, namespace: str, events: Iterable[Event]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                namespace + event.topic,
                encode(event),
                key=event.partition_key(),
                headers=[("content-type", b"application/json")],
            )
    finally:
        await producer.stop()


async def read_events(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Event]], bool],
    timeout: float = 60.0,
    linger: float = 0.0,
) -> list[Event]:
    """Every event on `topic` from the beginning, until `until(events)` holds (then `linger`
    seconds more, to catch what should not be there) or `timeout` passes."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    satisfied_at: float | None = None
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                events.extend(decode_any(r.value) for r in records)
            if satisfied_at is None and until(events):
                satisfied_at = time.monotonic()
            if satisfied_at is not None and time.monotonic() - satisfied_at >= linger:
                return events
    finally:
        await consumer.stop()
    return events


async def eventually(check: Callable[[], Any], *, timeout: float = 20.0) -> Any:
    """Polls an async `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)
