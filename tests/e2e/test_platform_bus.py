"""The running services talk through the real broker, and a poison message harms nobody.

tracking (one process) publishes `Opened` when its pixel is fetched; notifier (another
process) consumes it. A malformed message on the same topic is parked on the dead-letter
topic while notifier keeps consuming.
"""

import asyncio
import os
import re
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from contracts import topics
from servicekit.tokens import Claims, Kind, TokenCodec
from testkit.platform import LOCAL, Endpoints, instances

TRACKING = LOCAL.tracking
NOTIFIERS = instances(Endpoints.every_instance().notifier)


async def consumed(topic: str) -> float:
    """By all notifier instances together: any of them may own the partition."""
    pattern = rf'^events_consumed_total\{{topic="{re.escape(topic)}"\}} (\S+)$'
    total = 0.0
    async with httpx.AsyncClient(timeout=5) as client:
        for notifier in NOTIFIERS:
            text = (await client.get(f"{notifier}/metrics")).text
            match = re.search(pattern, text, re.MULTILINE)
            total += float(match.group(1)) if match else 0.0
    return total


async def consumed_more_than(topic: str, count: float, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while await consumed(topic) <= count:
        assert time.monotonic() < deadline, f"notifier consumed nothing new from {topic}"
        await asyncio.sleep(0.2)


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


def pixel_url() -> str:
    codec = TokenCodec.from_secret(os.environ["TOKEN_SECRET"])
    ids = [uuid.uuid4() for _ in range(5)]
    return f"{TRACKING}/o/{codec.sign(Claims(Kind.OPEN, int(time.time()), *ids))}"


async def dead_letter_tail(stack) -> tuple[AIOKafkaConsumer, TopicPartition]:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka, enable_auto_commit=False)
    await consumer.start()
    partition = TopicPartition(topics.dead_letter(topics.OPENED), 0)
    consumer.assign([partition])
    await consumer.seek_to_end(partition)
    await consumer.position(partition)
    return consumer, partition


async def test_event_from_one_process_reaches_another(stack):
    before = await consumed(topics.OPENED)
    response = await fetch(pixel_url())
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    await consumed_more_than(topics.OPENED, before)


async def test_malformed_message_goes_to_dead_letter_and_consumer_goes_on(stack):
    consumer, partition = await dead_letter_tail(stack)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        marker = f"not an event {uuid.uuid4()}".encode()
        await producer.send_and_wait(topics.OPENED, marker, key=b"poison")
        parked = []
        deadline = time.monotonic() + 30
        while marker not in parked and time.monotonic() < deadline:
            batch = await consumer.getmany(partition, timeout_ms=500)
            parked += [r.value for r in batch.get(partition, [])]
        assert marker in parked

        before = await consumed(topics.OPENED)
        assert (await fetch(pixel_url())).status_code == 200
        await consumed_more_than(topics.OPENED, before)
    finally:
        await producer.stop()
        await consumer.stop()
