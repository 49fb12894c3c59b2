"""RecipientResolved records written straight into Kafka record batches.

A million recipients per campaign is too many for one `send()` per record (a future and a
partitioner call each): records are appended to one open batch per partition, and a full
batch is handed to the producer as a whole. The producer is idempotent with acks=all, like
every producer of the platform.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from contracts import RecipientResolved
from servicekit.metrics import EVENTS_PUBLISHED

_HEADERS = [
    ("event_type", RecipientResolved.model_fields["event_type"].default.encode()),
    ("content-type", b"application/json"),
]


def durable_producer(
    bootstrap_servers: str, *, client_id: str, batch_bytes: int, compression: str | None = None
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        max_batch_size=batch_bytes,
        compression_type=compression,
        request_timeout_ms=30_000,
    )


class KafkaRecipientSink:
    """Partition of a record: its key (a message id, i.e. 16 bytes of a SHA-1) taken as a
    number modulo the partition count. Kafka's murmur2 of a key that is already a uniform
    hash spreads no better, and in pure Python it would cost more than the rest of a
    record's way; a replayed recipient lands on the partition it landed on before."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._partitions: list[int] = []

    async def start(self) -> None:
        self._partitions = sorted(await self._producer.partitions_for(self._topic))

    async def enqueue(self, records: Iterable[tuple[bytes, bytes]]) -> Awaitable[object]:
        if not self._partitions:
            await self.start()
        partitions, count = self._partitions, len(self._partitions)
        open_batches: dict[int, BatchBuilder] = {}
        sent: list[asyncio.Future[Any]] = []
        queued = 0
        for key, value in records:
            partition = partitions[int.from_bytes(key[-4:]) % count]
            batch = open_batches.get(partition)
            if batch is None:
                batch = open_batches[partition] = self._producer.create_batch()
            if batch.append(timestamp=None, key=key, value=value, headers=_HEADERS) is None:
                sent.append(await self._send(partition, batch))  # full: off it goes
                batch = open_batches[partition] = self._producer.create_batch()
                if batch.append(timestamp=None, key=key, value=value, headers=_HEADERS) is None:
                    raise ValueError(f"a record of {len(value)} bytes exceeds the batch size")
            queued += 1
        # The batches still open hold this call's last records: send them now so that the
        # returned future covers every record of the call.
        for partition, batch in open_batches.items():
            sent.append(await self._send(partition, batch))
        acknowledged: asyncio.Future[Any] = asyncio.gather(*sent)
        acknowledged.add_done_callback(lambda done: _count(done, queued))
        return acknowledged

    async def _send(self, partition: int, batch: BatchBuilder) -> asyncio.Future[Any]:
        batch.close()  # a closed batch is sent at once instead of lingering
        future: asyncio.Future[Any] = await self._producer.send_batch(
            batch, self._topic, partition=partition
        )
        return future


def _count(acknowledged: asyncio.Future[Any], queued: int) -> None:
    if not acknowledged.cancelled() and acknowledged.exception() is None:
        EVENTS_PUBLISHED.labels(RecipientResolved.topic).inc(queued)
