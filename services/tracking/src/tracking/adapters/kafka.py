"""The `Publisher` port: a group-committing Kafka producer.

Every hit waits for Kafka's acknowledgement before its HTTP response goes out, so the cost
per hit must be small and many hits must share one produce request. Events submitted while
a produce request is in flight are collected; when it is acknowledged, all of them leave in
the next request, as one record batch per partition (`send_batch`). One request is in
flight at a time, which is also what aiokafka does towards one broker, so nothing is lost
by waiting, and each waiter pays for one future instead of one `send()` call.

The producer is idempotent with acks=all, like every producer of `servicekit.kafka`.
Records are keyed by `event.partition_key()` and placed with Kafka's default partitioner
(murmur2 of the key), so one message's hits stay in order on one partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from contracts import Event, encode
from servicekit.metrics import EVENTS_PUBLISHED, PUBLISH_SECONDS

log = logging.getLogger(__name__)

_Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]


class BatchingPublisher:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        namespace: str = "",
        client_id: str = "tracking",
        timeout_ms: int = 10_000,
    ) -> None:
        self._namespace = namespace
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,  # batching happens here, while the previous request is in flight
            max_batch_size=512 * 1024,
            request_timeout_ms=timeout_ms,
        )
        self._partitions: dict[str, list[int]] = {}
        self._pending: list[_Record] = []
        self._waiter: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._headers: dict[str, list[tuple[str, bytes]]] = {}

    async def start(self, topics: Iterable[str]) -> None:
        """Connect, and learn the partitions of `topics` (un-namespaced) up front."""
        await self._producer.start()
        try:
            for topic in topics:
                await self._partitions_of(self._namespace + topic)
        except BaseException:
            await self._producer.stop()
            raise

    async def stop(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        await self._producer.stop()

    async def ping(self) -> None:
        await self._producer.client.fetch_all_metadata()

    def submit(self, event: Event) -> asyncio.Future[None]:
        headers = self._headers.get(event.event_type)
        if headers is None:
            headers = [
                ("event_type", event.event_type.encode()),
                ("content-type", b"application/json"),
            ]
            self._headers[event.event_type] = headers
        self._pending.append(
            (self._namespace + event.topic, event.partition_key(), encode(event), headers)
        )
        waiter = self._waiter
        if waiter is None:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            if self._flusher is None:
                # Starts on the next loop iteration: every hit of this one joins the batch.
                self._flusher = loop.create_task(self._flush())
        return waiter

    async def publish(self, events: Sequence[Event]) -> None:
        waiters = {id(w): w for w in map(self.submit, events)}
        await asyncio.gather(*waiters.values())

    async def _flush(self) -> None:
        try:
            while self._pending:
                records, waiter = self._pending, self._waiter
                self._pending, self._waiter = [], None
                assert waiter is not None
                try:
                    with PUBLISH_SECONDS.time():
                        await self._send(records)
                except Exception as exc:
                    log.warning("Kafka did not acknowledge %d events: %r", len(records), exc)
                    waiter.set_exception(exc)
                    waiter.exception()  # retrieved: waiters read it, the loop must not warn
                else:
                    waiter.set_result(None)
                    for topic, count in Counter(r[0] for r in records).items():
                        EVENTS_PUBLISHED.labels(topic.removeprefix(self._namespace)).inc(count)
        finally:
            self._flusher = None

    async def _send(self, records: list[_Record]) -> None:
        producer = self._producer
        batches: dict[tuple[str, int], Any] = {}
        sent: list[asyncio.Future[Any]] = []
        for topic, key, value, headers in records:
            partitions = self._partitions.get(topic) or await self._partitions_of(topic)
            partition = partitions[(kafka_murmur2(key) & 0x7FFFFFFF) % len(partitions)]
            batch = batches.get((topic, partition))
            if (
                batch is None
                or batch.append(timestamp=None, key=key, value=value, headers=headers) is None
            ):
                if batch is not None:  # full: it goes as it is, the rest in a new one
                    sent.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[(topic, partition)] = producer.create_batch()
                batch.append(timestamp=None, key=key, value=value, headers=headers)
        for (topic, partition), batch in batches.items():
            batch.close()
            sent.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*sent)

    async def _partitions_of(self, topic: str) -> list[int]:
        partitions = await self._producer.partitions_for(topic)
        if not partitions:
            raise LookupError(f"Kafka topic {topic!r} has no partitions (does it exist?)")
        self._partitions[topic] = sorted(partitions)
        return self._partitions[topic]


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def kafka_murmur2(key: bytes) -> int:
    """Kafka's murmur2, as aiokafka's `murmur2`, but a word at a time for whole-word keys.

    Hits are keyed by a 16-byte message id; the per-byte loop of the reference costs more
    than the rest of the partitioning. Other lengths use the reference.
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
