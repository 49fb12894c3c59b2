"""The whole service on its own Kafka namespace: events in, digest mail and DigestSent out."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from notifier_tests_fakes import FakeClock, FakeKeys
from notifier_tests_support import Scenario

from contracts import DigestSent, Event, Timing, topics
from notifier import bootstrap
from notifier.bootstrap import Ports
from notifier.main import create_app
from notifier.settings import Settings
from testkit.asgi import started
from testkit.kafka import publish, read_events

from .conftest import Sink

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
MIDNIGHT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
#: The tenants here exist only in the events, so their keys do not come from the composer.
KEYS = FakeKeys()


@asynccontextmanager
async def at_midnight(settings: Settings) -> AsyncIterator[Ports]:
    async with bootstrap.build(settings) as ports:
        yield replace(ports, clock=FakeClock(MIDNIGHT), keys=KEYS)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        started(create_app(settings, build=at_midnight)) as service,
        service.client("http://notifier") as http,
    ):
        yield http


@dataclass(frozen=True)
class Publisher:
    settings: Settings

    async def publish(self, events: list[Event]) -> None:
        await publish(self.settings.kafka_bootstrap_servers, self.settings.kafka_namespace, events)


@pytest.fixture
def publisher(settings: Settings) -> Publisher:
    return Publisher(settings)


async def wait_for_stats(
    http: httpx.AsyncClient, tenant_id: uuid.UUID, expected: dict[str, int], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    key = KEYS.issue(tenant_id)
    while True:
        stats = (await http.get("/v1/digests/stats", headers=key)).json()
        if all(stats[k] == v for k, v in expected.items()) or time.monotonic() > deadline:
            return dict(stats)
        await asyncio.sleep(0.2)


async def first_record(settings: Settings, topic: str) -> bytes:
    """The value of the first record on `topic`, waited for up to 30 s."""
    consumer = AIOKafkaConsumer(
        settings.kafka_namespace + topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    return bytes(record.value)


async def test_events_in_digest_out(
    client: httpx.AsyncClient,
    publisher: Publisher,
    settings: Settings,
    sink: Sink,
    redis: object,  # removes this test's suppression keys afterwards
) -> None:
    scenario = Scenario(first_open=Timing.DAILY, reopen=Timing.DAILY, click=Timing.HOURLY)
    for user in ("sender", "owner"):
        scenario.user(user)
    m1, m2 = uuid.uuid4(), uuid.uuid4()
    await publisher.publish([scenario.scheduled(), scenario.sent(m1), scenario.sent(m2)])
    first = scenario.opened(m1, T0)
    events = [
        first,
        scenario.opened(m1, T0 + timedelta(minutes=20)),  # suppressed
        scenario.opened(m1, T0 + timedelta(minutes=5), machine=True),
        scenario.opened(m2, T0, user="owner"),
        scenario.clicked(m2, T0 + timedelta(minutes=1), user="owner"),
    ]
    for event in events:  # one by one: per-message order is what Kafka keeps
        await publisher.publish([event])
    await publisher.publish([first])  # a redelivered duplicate
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    await producer.send_and_wait(settings.kafka_namespace + topics.OPENED, b"{not an event")
    await producer.stop()

    stats = await wait_for_stats(
        client,
        scenario.tenant_id,
        # The campaign arrives through its own consumer group, possibly after the hits.
        {
            "first_opens": 2,
            "clicks": 1,
            "suppressed_reopens": 1,
            "machine_events": 1,
            "awaiting_campaign": 0,
        },
    )
    assert stats == {
        "digests_sent": 0,
        "notifications_pending": 3,
        "awaiting_campaign": 0,
        "suppressed_reopens": 1,
        "machine_events": 1,
        "first_opens": 2,
        "reopens": 0,
        "clicks": 1,
    }

    body = {"as_of": MIDNIGHT.isoformat(), "tenant_id": str(scenario.tenant_id)}
    result = (await client.post("/v1/admin/close-periods", json=body)).json()
    assert (result["claimed"], result["sent"], result["unsent"]) == (2, 2, 0)
    for user in ("sender", "owner"):
        assert len(await sink.wait_for(scenario.user(user).email, 1)) == 1
    stats = await client.get("/v1/digests/stats", headers=KEYS.issue(scenario.tenant_id))
    assert stats.json()["digests_sent"] == 2

    sent = await read_events(
        settings.kafka_bootstrap_servers,
        settings.kafka_namespace + topics.DIGEST_SENT,
        until=lambda events: len(events) >= 2,
    )
    assert all(isinstance(e, DigestSent) for e in sent)
    assert sorted((e.first_opens, e.clicks) for e in sent) == [(1, 0), (1, 1)]
    assert {e.period_end for e in sent} == {MIDNIGHT}
    parked = await first_record(settings, topics.dead_letter(topics.OPENED))
    assert parked == b"{not an event"
