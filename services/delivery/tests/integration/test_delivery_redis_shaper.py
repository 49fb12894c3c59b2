"""The shared shaping state in a real Redis: two processes' shapers share slots, buckets
and slow-downs; a dead holder's slot lapses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from delivery.adapters.redis import RedisShaper
from delivery.shaping.config import Adaptive


@pytest.fixture
async def redis(stack: Any) -> AsyncIterator[Redis]:
    async with Redis.from_url(stack.redis_url) as client:
        yield client


def shaper(redis: Redis, namespace: str, **adaptive: Any) -> RedisShaper:
    return RedisShaper(
        redis, prefix=namespace + "delivery:shaping:", adaptive=Adaptive(**adaptive), slot_ttl=0.5
    )


async def test_slots_are_shared_and_lapse(redis: Redis, kafka_namespace: str) -> None:
    a, b = shaper(redis, kafka_namespace), shaper(redis, kafka_namespace)
    assert await a.acquire("d", "a#1", 2) and await b.acquire("d", "b#1", 2)
    assert not await b.acquire("d", "b#2", 2), "two processes, one limit"
    assert await a.renew([("d", "a#1", 2)]) == []
    await asyncio.sleep(0.3)
    assert await a.renew([("d", "a#1", 2)]) == []  # a keeps beating, b stopped (dead)
    await asyncio.sleep(0.35)
    assert await b.acquire("d", "b#2", 2), "the dead holder's slot lapsed"
    assert not await b.acquire("d", "b#3", 2), "the renewed one did not"
    await a.release("d", "a#1")
    assert await b.acquire("d", "b#3", 2)


async def test_buckets_and_slow_downs_are_shared(redis: Redis, kafka_namespace: str) -> None:
    a = shaper(redis, kafka_namespace, recover_seconds=60, hold_seconds=1)
    b = shaper(redis, kafka_namespace, recover_seconds=60, hold_seconds=1)
    first = await a.take("d", 100, 600)
    second = await b.take("d", 100, 600)
    assert first.granted + second.granted == 10, "one second's worth at 600 a minute"
    assert second.wait > 0 or first.granted == 0
    assert (await a.take("u", 50, 0)).granted == 50
    slowed = await a.slow_down("u", 0, observed=1200)
    # Half of what was sent: what it saw itself, or the 50 tokens granted just now.
    assert 600 <= slowed <= 1600
    assert await b.slow_down("u", 0, observed=1200) == pytest.approx(slowed, rel=0.05)
    assert (await b.take("u", 1, 0)).per_minute == pytest.approx(slowed, rel=0.05)
