"""Fixtures of the delivery integration tier (see harness.py for the helpers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from delivery_tests_harness import Bus, Sink
from redis.asyncio import Redis

from contracts import SigningKey
from mailkit.keys import KeyVault
from testkit.signing import sealed_keys


@pytest.fixture
async def bus(stack: Any, kafka_namespace: str) -> AsyncIterator[Bus]:
    b = Bus(stack.kafka, kafka_namespace)
    await b.start()
    yield b
    await b.stop()


@pytest.fixture(autouse=True)
async def shaping_state(stack: Any, kafka_namespace: str) -> AsyncIterator[None]:
    """The shaping state delivery kept in Redis under the test's namespace goes with it."""
    yield
    async with Redis.from_url(stack.redis_url) as redis:
        keys = [key async for key in redis.scan_iter(f"{kafka_namespace}delivery:*")]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
async def sink(stack: Any) -> AsyncIterator[Sink]:
    s = Sink(stack.sink_api)
    yield s
    await s.close()


SIGNING_SECRET = "integration-signing-keys-secret-of-enough-length"


@pytest.fixture(scope="session")
def signing_keys() -> tuple[list[SigningKey], dict[bytes, bytes]]:
    """RSA and Ed25519 keys of example.com as a campaign carries them (encrypted), and the
    DNS TXT records a verifier finds for them."""
    return sealed_keys("example.com", KeyVault(SIGNING_SECRET), "bm1", "bm1e")
