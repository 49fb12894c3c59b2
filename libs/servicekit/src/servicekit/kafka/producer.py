"""The one way the platform writes to Kafka: a durable producer and a batch sender.

Every producer is idempotent with acks=all, so an acknowledged record is never lost or
duplicated by a retry. `BatchSender` appends records straight into one record batch per
partition and hands full batches to the producer: one future per batch instead of one
`send()` per record, which is what makes a million recipients or tens of thousands of
hits a second affordable in Python. Records without an explicit partition are placed by
Kafka's own partitioner (murmur2 of the key), so they land where any Kafka client would
put them and a replayed record lands where it landed before.
"""

from __future__ import annotations

import asyncio
import struct
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from servicekit.metrics import EVENTS_PUBLISHED, PUBLISH_SECONDS

Headers = Sequence[tuple[str, bytes]]


@asynccontextmanager
async def producing(
    bootstrap_servers: str, *, client_id: str, namespace: str = "", **overrides: Any
) -> AsyncIterator[BatchSender]:
    """A started durable producer, as a sender, for as long as the block runs."""
    producer = durable_producer(bootstrap_servers, client_id=client_id, **overrides)
    await producer.start()
    try:
        yield BatchSender(producer, namespace=namespace)
    finally:
        await producer.stop()


def durable_producer(
    bootstrap_servers: str, *, client_id: str, **overrides: Any
) -> AIOKafkaProducer:
    """A producer that never loses or duplicates an acknowledged record."""
    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 512 * 1024,
        "request_timeout_ms": 30_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(bootstrap_servers=bootstrap_servers, client_id=client_id, **options)


@dataclass(frozen=True, slots=True)
class Record:
    """One record to write. `topic` is the platform's name; the sender adds the namespace."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = ()
    partition: int | None = None


class BatchSender:
    """Writes records in per-partition batches; counts what Kafka acknowledged."""

    def __init__(self, producer: AIOKafkaProducer, *, namespace: str = "") -> None:
        self._producer = producer
        self._namespace = namespace
        self._partitions: dict[str, list[int]] = {}

    @property
    def producer(self) -> AIOKafkaProducer:
        return self._producer

    async def partitions(self, topic: str) -> list[int]:
        """Partitions of a platform topic (learnt once)."""
        known = self._partitions.get(topic)
        if known is None:
            found = await self._producer.partitions_for(self._namespace + topic)
            if not found:
                raise LookupError(f"Kafka topic {self._namespace + topic!r} has no partitions")
            known = self._partitions[topic] = sorted(found)
        return known

    async def send(self, records: Iterable[Record]) -> asyncio.Future[Any]:
        """Queue the records; returns once they are handed to the producer (waiting while
        it is behind). The returned future completes when Kafka acknowledged all of them."""
        open_batches: dict[tuple[str, int], Any] = {}
        sent: list[asyncio.Future[Any]] = []
        per_topic: Counter[str] = Counter()
        for record in records:
            place = (record.topic, await self._partition_of(record))
            batch = open_batches.get(place)
            if batch is None:
                batch = open_batches[place] = self._producer.create_batch()
            if not _append(batch, record):  # full: off it goes, the record starts a new one
                sent.append(await self._flush(place, batch))
                batch = open_batches[place] = self._producer.create_batch()
                if not _append(batch, record):
                    raise ValueError(f"a record of {len(record.value)} bytes exceeds a batch")
            per_topic[record.topic] += 1
        for place, batch in open_batches.items():
            sent.append(await self._flush(place, batch))
        acknowledged: asyncio.Future[Any] = asyncio.gather(*sent)
        acknowledged.add_done_callback(lambda done: _count(done, per_topic))
        return acknowledged

    async def send_and_wait(self, records: Iterable[Record]) -> None:
        with PUBLISH_SECONDS.time():
            await (await self.send(records))

    async def ping(self) -> None:
        """Raises when the cluster cannot be reached."""
        await self._producer.client.fetch_all_metadata()

    async def _partition_of(self, record: Record) -> int:
        if record.partition is not None:
            return record.partition
        partitions = self._partitions.get(record.topic) or await self.partitions(record.topic)
        if record.key is None:
            raise ValueError(f"a record for {record.topic} needs a key or a partition")
        return partitions[(kafka_murmur2(record.key) & 0x7FFFFFFF) % len(partitions)]

    async def _flush(self, place: tuple[str, int], batch: Any) -> asyncio.Future[Any]:
        batch.close()  # a closed batch goes out at once instead of lingering
        future: asyncio.Future[Any] = await self._producer.send_batch(
            batch, self._namespace + place[0], partition=place[1]
        )
        return future


def _append(batch: Any, record: Record) -> bool:
    metadata = batch.append(
        timestamp=None, key=record.key, value=record.value, headers=list(record.headers)
    )
    return metadata is not None


def _count(acknowledged: asyncio.Future[Any], per_topic: Counter[str]) -> None:
    if not acknowledged.cancelled() and acknowledged.exception() is None:
        for topic, count in per_topic.items():
            EVENTS_PUBLISHED.labels(topic).inc(count)


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def kafka_murmur2(key: bytes) -> int:
    """Kafka's murmur2 (as aiokafka's `murmur2`), a word at a time for whole-word keys.

    Keys are mostly 16-byte ids; the per-byte loop of the reference costs more than the
    rest of a record's way through the sender. Other lengths use the reference.
    """
    if len(key) % 4:
        return int(murmur2(key))
    h = (0x9747B28C ^ len(key)) & _MASK
    for k in struct.unpack(f"<{len(key) // 4}I", key):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)
