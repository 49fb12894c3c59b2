"""Builds the console's ports from settings: the one place that connects to anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis

from console.adapters.backend import HttpBackend
from console.adapters.redis import RedisLimiter, RedisSessions
from console.ports import Backend, Clock, Limiter, Sessions
from console.settings import Settings
from servicekit.clock import SystemClock
from servicekit.peers import peer_client


@dataclass(frozen=True)
class Ports:
    sessions: Sessions
    limiter: Limiter
    backend: Backend
    clock: Clock


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(Redis.from_url(settings.redis_url))
        timeout = httpx.Timeout(settings.api_timeout_s, connect=5.0)
        composer = await stack.enter_async_context(
            peer_client(settings.composer_url, timeout=timeout)
        )
        recipients = await stack.enter_async_context(
            peer_client(settings.recipients_url, timeout=timeout)
        )
        yield Ports(
            sessions=RedisSessions(redis, settings.redis_key_prefix),
            limiter=RedisLimiter(redis, settings.redis_key_prefix),
            backend=HttpBackend({"composer": composer, "recipients": recipients}),
            clock=SystemClock(),
        )
