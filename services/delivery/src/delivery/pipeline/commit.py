"""Commit: the last step. Per partition, offsets move up to the first record the pipeline
still holds; they are committed through the consumer that fetched the records, on a timer
and before partitions move to another process."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

from delivery.pipeline.offsets import OffsetTracker
from delivery.ports import TopicPartition as TP

log = logging.getLogger(__name__)


class Commits:
    def __init__(self, tracker: OffsetTracker, namespace: str = "") -> None:
        self._tracker = tracker
        self._namespace = namespace
        self._consumer: Any = None

    def through(self, consumer: Any) -> None:
        """The consumer of the latest batch (a restarted subscriber has a new one)."""
        if consumer is not None:
            self._consumer = consumer

    async def commit(self, only: set[TP] | None = None) -> None:
        offsets = self._tracker.committable(only)
        if not offsets or self._consumer is None:
            return
        try:
            await self._consumer.commit(
                {TopicPartition(self._namespace + t, p): o for (t, p), o in offsets.items()}
            )
        except Exception as exc:  # e.g. a rebalance took the partition; the next owner redoes
            log.warning("offset commit failed: %r", exc)
            return
        self._tracker.committed(offsets)


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move: commit what is done for them, then forget them (whatever is
    still on its way for them no longer counts; the new owner reads it again)."""

    def __init__(self, commits: Commits, forget: Any, namespace: str = "") -> None:
        self._commits = commits
        self._forget = forget
        self._namespace = namespace

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        tps = {(tp.topic.removeprefix(self._namespace), tp.partition) for tp in revoked}
        await self._commits.commit(only=tps)
        self._forget(tps)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("recipient partitions assigned: %s", sorted(str(tp) for tp in assigned))
