"""Fixtures for the notifier against real PostgreSQL, Redis and the SMTP sink.

Each test gets its own PostgreSQL schema, Kafka namespace and Redis key prefix, so nothing it
does touches the running stack's data. "Redis restarted empty" is played by deleting the
test's own keys, never by flushing a database others may use.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from notifier.adapters.redis import RedisSuppressionState
from notifier.bootstrap import build_digests, cycle_of
from notifier.digests import DigestCycle
from notifier.settings import Settings


class Sink:
    """The dev SMTP sink's HTTP listing."""

    def __init__(self, api: str) -> None:
        self._api = api

    async def to(self, address: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self._api, timeout=10) as client:
            response = await client.get("/messages", params={"to": address, "limit": 1000})
            response.raise_for_status()
            return list(response.json())

    async def raw(self, message_id: int) -> bytes:
        async with httpx.AsyncClient(base_url=self._api, timeout=10) as client:
            response = await client.get(f"/messages/{message_id}/raw")
            response.raise_for_status()
            return response.content

    async def wait_for(self, address: str, count: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            found = await self.to(address)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)


@pytest.fixture
def sink(stack: Any) -> Sink:
    return Sink(stack.sink_api)


#: Settings named as the stack names its endpoints.
STACK_ENDPOINTS = ("database_url", "redis_url", "smtp_host", "smtp_port")


@pytest.fixture
def settings(stack: Any, pg_schema: str, kafka_namespace: str) -> Settings:
    endpoints = {name: getattr(stack, name) for name in STACK_ENDPOINTS}
    return Settings(
        kafka_bootstrap_servers=stack.kafka,
        **endpoints,
        kafka_namespace=kafka_namespace,
        database_schema=pg_schema,
        redis_key_prefix=f"test-notifier:{uuid.uuid4().hex}:",
        instance_id="test",
        digest_lease_s=1.0,
        digest_retry_s=0.5,
        close_interval_s=3600.0,
        http_port=0,
    )


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await forget_redis_state(client, settings.redis_key_prefix)
    await client.aclose()


async def forget_redis_state(client: Redis, prefix: str) -> int:
    """What a Redis restart without persistence does to this test's keys."""
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
    return int(await client.delete(*keys)) if keys else 0


@pytest.fixture
def suppression(redis: Redis, settings: Settings) -> RedisSuppressionState:
    return RedisSuppressionState(
        redis, prefix=settings.redis_key_prefix, ttl_s=settings.suppression_ttl_s
    )


@pytest.fixture
async def cycle(settings: Settings) -> AsyncIterator[DigestCycle]:
    from notifier_tests_fakes import FakeClock

    async with build_digests(settings) as digests:
        yield cycle_of(replace(digests, clock=FakeClock()), settings)
