"""Sessions and attempt counters in Redis: every console instance sees the same ones."""

from __future__ import annotations

import json
import secrets
from typing import Any

from redis.asyncio import Redis


class RedisSessions:
    """One key per session, `<prefix>session:<id>`, holding JSON; its TTL is the idle time."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "session:"

    async def create(self, data: dict[str, Any], ttl_s: int) -> str:
        session_id = secrets.token_urlsafe(32)
        await self._redis.set(self._prefix + session_id, json.dumps(data), ex=ttl_s, nx=True)
        return session_id

    async def load(self, session_id: str, ttl_s: int) -> dict[str, Any] | None:
        if not session_id or len(session_id) > 100:
            return None
        raw = await self._redis.getex(self._prefix + session_id, ex=ttl_s)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data

    async def save(self, session_id: str, data: dict[str, Any], ttl_s: int) -> None:
        # xx: a session destroyed meanwhile (sign-out in another tab) is not brought back.
        await self._redis.set(self._prefix + session_id, json.dumps(data), ex=ttl_s, xx=True)

    async def destroy(self, session_id: str) -> None:
        await self._redis.delete(self._prefix + session_id)

    async def ping(self) -> None:
        await self._redis.ping()


class RedisLimiter:
    """Fixed windows: INCR, and the window's expiry set by the first failure in it."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "limit:"

    async def blocked(self, key: str, limit: int) -> bool:
        count = await self._redis.get(self._prefix + key)
        return count is not None and int(count) >= limit

    async def fail(self, key: str, window_s: int) -> None:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s, nx=True)
            await pipe.execute()
