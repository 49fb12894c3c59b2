"""Sessions and failure counters on the real Redis: ids are random, idle sessions end,
sign-out removes them, and every console instance sees the same counts."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from console.adapters.redis import RedisLimiter, RedisSessions


def prefix() -> str:
    return f"test-console-{uuid.uuid4().hex[:8]}:"


async def test_sessions_live_while_used_and_end_when_destroyed(stack) -> None:
    async with Redis.from_url(stack.redis_url) as redis:
        sessions = RedisSessions(redis, prefix())
        first = await sessions.create({"key": "bm_a_b", "csrf": "t"}, ttl_s=60)
        second = await sessions.create({"key": "bm_c_d"}, ttl_s=60)
        assert first != second and len(first) >= 40
        assert (await sessions.load(first, 60)) == {"key": "bm_a_b", "csrf": "t"}
        await sessions.save(first, {"key": "bm_a_b", "flash": [["success", "ok"]]}, 60)
        assert (await sessions.load(first, 60) or {})["flash"] == [["success", "ok"]]
        await sessions.destroy(first)
        assert await sessions.load(first, 60) is None
        await sessions.save(first, {"key": "back?"}, 60)  # a destroyed session stays gone
        assert await sessions.load(first, 60) is None
        assert await sessions.load("x" * 500, 60) is None
        await sessions.destroy(second)


async def test_an_idle_session_expires(stack) -> None:
    async with Redis.from_url(stack.redis_url) as redis:
        sessions = RedisSessions(redis, prefix())
        session_id = await sessions.create({"key": "k"}, ttl_s=1)
        await asyncio.sleep(1.5)
        assert await sessions.load(session_id, 1) is None


async def test_failures_are_counted_for_every_instance_in_a_window(stack) -> None:
    shared = prefix()
    async with Redis.from_url(stack.redis_url) as one, Redis.from_url(stack.redis_url) as two:
        first, second = RedisLimiter(one, shared), RedisLimiter(two, shared)
        for _ in range(2):
            await first.fail("address:a@example.com", window_s=1)
        await second.fail("address:a@example.com", window_s=1)
        assert await second.blocked("address:a@example.com", 3)
        assert not await second.blocked("address:b@example.com", 3)
        await asyncio.sleep(1.5)
        assert not await first.blocked("address:a@example.com", 3)
