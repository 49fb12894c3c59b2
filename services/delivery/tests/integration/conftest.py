"""Fixtures of the delivery integration tier (see harness.py for the helpers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from delivery_tests_harness import Bus, Sink
from redis.asyncio import Redis

from contracts import SigningKey
from mailkit.keys import KeyVault
from mailkit.signing import (
    Ed25519SigningKey,
    RsaSigningKey,
    generate_ed25519_key,
    generate_rsa_key,
)


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
    vault = KeyVault(SIGNING_SECRET)
    rsa_pem, ed_pem = generate_rsa_key(), generate_ed25519_key()
    rsa = RsaSigningKey("example.com", "bm1", rsa_pem)
    ed = Ed25519SigningKey("example.com", "bm1e", ed_pem)
    keys = [
        SigningKey(domain="example.com", selector="bm1", algorithm="rsa-sha256",
                   private_key=vault.encrypt(rsa_pem)),
        SigningKey(domain="example.com", selector="bm1e", algorithm="ed25519-sha256",
                   private_key=vault.encrypt(ed_pem)),
    ]  # fmt: skip
    records = {f"{k.dns_name}.".encode(): "".join(k.txt_record()).encode() for k in (rsa, ed)}
    return keys, records
