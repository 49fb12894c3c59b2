"""Fixtures of the delivery integration tier (see harness.py for the helpers)."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from delivery_tests_harness import Bus, Sink
from redis.asyncio import Redis


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


@pytest.fixture(scope="session")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fresh RSA key: the PEM file for delivery, the DNS TXT record for verification."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return private, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
