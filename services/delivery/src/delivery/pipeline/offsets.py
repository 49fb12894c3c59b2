"""Which Kafka offsets may be committed: per partition, everything below the lowest offset
that is still in the pipeline (claimed, sending, being recorded, or held).

A partition's generation changes when it is revoked, so that work started under an old
assignment can no longer move the commit point of a new one.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

from delivery.ports import TopicPartition


@dataclass
class _Partition:
    generation: int = 0
    pending: list[int] = field(default_factory=list)  # min-heap
    done: set[int] = field(default_factory=set)
    next_offset: int | None = None  # one past the highest offset seen
    committed: int | None = None

    def committable(self) -> int | None:
        while self.pending and self.pending[0] in self.done:
            self.done.discard(heapq.heappop(self.pending))
        if self.pending:
            return self.pending[0]
        return self.next_offset


class OffsetTracker:
    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, _Partition] = {}

    def add(self, tp: TopicPartition, offset: int) -> int:
        """Register a record; returns the generation to hand back to `done`."""
        p = self._partitions.setdefault(tp, _Partition())
        heapq.heappush(p.pending, offset)
        if p.next_offset is None or offset >= p.next_offset:
            p.next_offset = offset + 1
        return p.generation

    def seen(self, ends: Mapping[TopicPartition, int]) -> None:
        """Everything below `end` was fetched: records the pipeline never holds (parked,
        campaign snapshots) do not keep the commit point back."""
        for tp, end in ends.items():
            p = self._partitions.setdefault(tp, _Partition())
            if p.next_offset is None or end > p.next_offset:
                p.next_offset = end

    def done(self, tp: TopicPartition, offset: int, generation: int) -> None:
        p = self._partitions.get(tp)
        if p is not None and p.generation == generation:
            p.done.add(offset)

    def current(self, tp: TopicPartition, generation: int) -> bool:
        p = self._partitions.get(tp)
        return p is not None and p.generation == generation

    def committable(self, only: set[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """Commit points that moved since the last `committed`."""
        out: dict[TopicPartition, int] = {}
        for tp, p in self._partitions.items():
            if only is not None and tp not in only:
                continue
            offset = p.committable()
            if offset is not None and offset != p.committed:
                out[tp] = offset
        return out

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            p = self._partitions.get(tp)
            if p is not None:
                p.committed = offset

    def revoke(self, tps: set[TopicPartition]) -> None:
        """Forget these partitions; whatever is still in flight for them no longer counts."""
        for tp in tps:
            old = self._partitions.pop(tp, None)
            if old is not None:
                self._partitions[tp] = _Partition(generation=old.generation + 1)
