"""Tracking links signed the way delivery signs them, fetched from the running service on
8004: the pixel and the click are answered and their events are on the real topics."""

from __future__ import annotations

import time
import uuid
from contextlib import asynccontextmanager

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import Clicked, Opened, Unsubscribed, decode
from contracts.topics import TOPICS
from servicekit.tokens import Claims, Kind, TokenCodec

BROWSER = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15"}
PIXEL_BYTES = 43


@asynccontextmanager
async def listening(stack, topic: str):
    """A consumer positioned at the end of `topic` before anything is requested."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka,
        group_id=f"e2e-tracking-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="latest",
    )
    partitions = next(t.partitions for t in TOPICS if t.name == topic)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    await consumer.start()
    try:
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # resolves "latest" now, not at the first poll
        yield consumer
    finally:
        await consumer.stop()


async def first(consumer: AIOKafkaConsumer, model, message_id: uuid.UUID, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                event = decode(record.value, model)
                if getattr(event, "message_id", None) == message_id:
                    return event
    raise AssertionError(f"no {model.__name__} for message {message_id} within {timeout}s")


def signed(stack, kind: Kind, url: str | None = None) -> tuple[str, Claims]:
    codec = TokenCodec.from_secret(stack.token_secret)
    ids = [uuid.uuid4() for _ in range(5)]
    claims = Claims(kind, int(time.time()) - 3600, *ids, url=url)
    return f"{stack.tracking_base_url}/{'ocu'[kind - 1]}/{codec.sign(claims)}", claims


async def test_opening_a_mail_publishes_opened(stack):
    url, claims = signed(stack, Kind.OPEN)
    async with listening(stack, Opened.topic) as consumer, httpx.AsyncClient() as client:
        response = await client.get(url, headers=BROWSER)
        assert response.status_code == 200 and len(response.content) == PIXEL_BYTES
        assert response.headers["content-type"] == "image/gif"
        event = await first(consumer, Opened, claims.message_id)
    assert (event.tenant_id, event.customer_id, event.notify_user_id) == (
        claims.tenant_id,
        claims.customer_id,
        claims.notify_user_id,
    )
    assert event.user_agent == BROWSER["User-Agent"] and event.machine is False


async def test_clicking_a_link_redirects_and_publishes_clicked(stack):
    destination = "https://shop.example/sale?item=42"
    url, claims = signed(stack, Kind.CLICK, url=destination)
    async with listening(stack, Clicked.topic) as consumer, httpx.AsyncClient() as client:
        response = await client.get(url + "?url=https://evil.example/", headers=BROWSER)
        assert (response.status_code, response.headers["location"]) == (302, destination)
        event = await first(consumer, Clicked, claims.message_id)
    assert event.url == destination and event.campaign_id == claims.campaign_id


async def test_one_click_unsubscribe_publishes_unsubscribed(stack):
    url, claims = signed(stack, Kind.UNSUBSCRIBE)
    async with listening(stack, Unsubscribed.topic) as consumer, httpx.AsyncClient() as client:
        page = await client.get(url)
        assert page.status_code == 200 and "配信停止" in page.text
        response = await client.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
        event = await first(consumer, Unsubscribed, claims.message_id)
    assert (event.customer_id, event.method) == (claims.customer_id, "one_click")


async def test_forged_links_get_no_redirect(stack):
    url, _ = signed(stack, Kind.CLICK, url="https://shop.example/")
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    async with httpx.AsyncClient() as client:
        response = await client.get(forged)
    assert response.status_code == 404 and "location" not in response.headers
