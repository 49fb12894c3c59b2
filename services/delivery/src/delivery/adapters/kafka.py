"""Kafka glue of the hot path: an event producer, offset commits and rebalance handling.

The recipient.resolved subscriber never lets FastStream acknowledge (AckPolicy.MANUAL):
the pipeline decides what may be committed and commits it here, per partition, through the
subscriber's own consumer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from contracts import Event, encode
from delivery.ports import TopicPartition as TP
from servicekit.metrics import EVENTS_PUBLISHED, PUBLISH_SECONDS

log = logging.getLogger(__name__)


class KafkaEvents:
    """Publisher port on a producer of its own: idempotent, acks=all, batched by linger."""

    def __init__(self, bootstrap_servers: str, *, namespace: str = "", client_id: str) -> None:
        self._namespace = namespace
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=512 * 1024,
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, events: Iterable[Event]) -> None:
        futures = []
        with PUBLISH_SECONDS.time():
            for e in events:
                futures.append(
                    await self._producer.send(
                        self._namespace + e.topic,
                        encode(e),
                        key=e.partition_key(),
                        headers=[
                            ("event_type", e.event_type.encode()),
                            ("content-type", b"application/json"),
                        ],
                    )
                )
                EVENTS_PUBLISHED.labels(e.topic).inc()
            await asyncio.gather(*futures)


class ConsumerCommitter:
    """Commits through whichever consumer the subscriber currently runs."""

    def __init__(self, consumer: Callable[[], AIOKafkaConsumer | None]) -> None:
        self._consumer = consumer

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        consumer = self._consumer()
        if consumer is None:
            raise RuntimeError("consumer not running")
        await consumer.commit({TopicPartition(t, p): o for (t, p), o in offsets.items()})


class PipelineRebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move: commit what is done for them, forget what is held."""

    def __init__(self, pipeline: Callable[[], Any]) -> None:
        self._pipeline = pipeline

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pipeline = self._pipeline()
        if pipeline is None:
            return
        tps = {(tp.topic, tp.partition) for tp in revoked}
        await pipeline.commit_partitions(tps)
        pipeline.revoke(tps)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("recipient partitions assigned: %s", sorted(str(tp) for tp in assigned))
