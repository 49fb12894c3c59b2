"""A composer running in-process on its own Kafka namespace and PostgreSQL schema."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from composer import accounts
from composer.main import create_app
from composer.settings import Settings
from contracts import Event, decode_any


@dataclass
class Composer:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings

    async def tenant(self, company: str = "Acme KK") -> tuple[dict[str, str], str]:
        """A new tenant; returns the admin's auth header and the admin's user id."""
        _, user, key = await accounts.bootstrap(
            accounts.TenantInput(company_name=company, postal_address="1-1 Chiyoda, Tokyo"),
            accounts.UserInput(
                name=f"{company} admin", email=f"admin@{company[:4].lower()}.example"
            ),
            store=self.app.state.store,
        )
        return {"Authorization": f"Bearer {key.api_key}"}, str(user.id)


def settings_for(stack, kafka_namespace: str, pg_schema: str, **extra: object) -> Settings:
    return Settings(
        kafka_bootstrap_servers=stack.kafka,
        database_url=stack.database_url,
        database_schema=pg_schema,
        kafka_namespace=kafka_namespace,
        token_secret="integration",
        release_interval=0.1,
        **extra,
    )


@pytest.fixture
async def composer(stack, kafka_namespace, pg_schema) -> AsyncIterator[Composer]:
    settings = settings_for(stack, kafka_namespace, pg_schema)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://composer") as http:
            yield Composer(app, http, settings)


async def read_events(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Event]], bool],
    wait: float = 30.0,
    linger: float = 0.0,
) -> list[Event]:
    """Every event on `topic` from the beginning, until `until(events)` holds (then `linger`
    seconds more, to catch what should not be there) or `wait` seconds pass."""
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


async def eventually(check: Callable[[], object], *, within: float = 20.0) -> None:
    """Polls an async check until it stops raising AssertionError."""
    deadline = time.monotonic() + within
    while True:
        try:
            await check()  # type: ignore[misc]
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
