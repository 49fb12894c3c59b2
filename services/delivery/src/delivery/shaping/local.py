"""The shaping state of one process, in memory: the same rules as the Redis scripts
(adapters/redis.py), for a process that cannot reach Redis and for the unit tests.

`Fallback` uses Redis and, while Redis fails, this: the limits then hold per process
instead of across all of them, which keeps mail flowing at a bounded rate rather than
stopping every campaign because the shared state is unreachable.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from delivery.ports import Grant, Shaper
from delivery.shaping.config import Adaptive

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class _Bucket:
    tokens: float | None = None
    at: float = 0.0
    second: int = 0
    count: int = 0
    previous: int = 0


class LocalShaper:
    def __init__(
        self,
        adaptive: Adaptive,
        *,
        slot_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._adaptive = adaptive
        self._ttl = slot_ttl
        self._clock = clock
        self.slots: dict[str, dict[str, float]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._slowed: dict[str, tuple[float, float]] = {}  # scope -> (per second, since)

    async def acquire(self, scope: str, holder: str, limit: int) -> bool:
        now = self._clock()
        held = self.slots.setdefault(scope, {})
        for name in [h for h, until in held.items() if until <= now]:
            del held[name]
        if holder in held or len(held) < limit:
            held[holder] = now + self._ttl
            return True
        return False

    async def release(self, scope: str, holder: str) -> None:
        self.slots.get(scope, {}).pop(holder, None)

    async def renew(self, held: Sequence[tuple[str, str, int]]) -> list[int]:
        lost = []
        for i, (scope, holder, limit) in enumerate(held):
            if not await self.acquire(scope, holder, limit):
                lost.append(i)
        return lost

    async def take(self, scope: str, wanted: int, per_minute: int) -> Grant:
        now = self._clock()
        rate = self._rate(scope, per_minute / 60, now)
        b = self._buckets.setdefault(scope, _Bucket(at=now, second=int(now)))
        self._count(b, now, 0)
        granted, wait = wanted, 0.0
        if rate > 0:
            cap = max(1.0, rate)
            tokens = cap if b.tokens is None else min(cap, b.tokens + (now - b.at) * rate)
            granted = min(wanted, math.floor(tokens))
            b.tokens, b.at = tokens - granted, now
            if granted == 0:
                wait = (1 - b.tokens) / rate
        self._count(b, now, granted)
        return Grant(granted, wait, rate * 60)

    async def slow_down(self, scope: str, per_minute: int, observed: float) -> float:
        a, now = self._adaptive, self._clock()
        current = self._rate(scope, per_minute / 60, now)
        slowed = self._slowed.get(scope)
        if slowed is not None and now - slowed[1] < a.hold_seconds:
            return current * 60
        b = self._buckets.get(scope)
        measured = 0.0
        if b is not None:
            self._count(b, now, 0)
            measured = (b.count + b.previous) / (1 + now % 1)
        measured = max(measured, observed / 60)
        base = measured if current == 0 or 0 < measured < current else current
        rate = max(a.min_per_minute / 60, base * a.decrease)
        self._slowed[scope] = (rate, now)
        return rate * 60

    def _rate(self, scope: str, fixed: float, now: float) -> float:
        slowed = self._slowed.get(scope)
        if slowed is None:
            return fixed
        rate, since = slowed
        elapsed = now - since
        if elapsed > 10 * max(self._adaptive.recover_seconds, 1e-3):
            del self._slowed[scope]
            return fixed
        grown = rate * (1 + elapsed / max(self._adaptive.recover_seconds, 1e-3))
        return grown if fixed == 0 or grown < fixed else fixed

    @staticmethod
    def _count(b: _Bucket, now: float, granted: int) -> None:
        second = int(now)
        if second != b.second:
            b.previous = b.count if second == b.second + 1 else 0
            b.count, b.second = 0, second
        b.count += granted


class Fallback:
    """Redis first; this process's own state while Redis fails."""

    def __init__(self, shared: Shaper, local: LocalShaper) -> None:
        self._shared = shared
        self._local = local
        self._failing = False

    async def acquire(self, scope: str, holder: str, limit: int) -> bool:
        return await self._call(lambda s: s.acquire(scope, holder, limit))

    async def release(self, scope: str, holder: str) -> None:
        await self._call(lambda s: s.release(scope, holder))

    async def renew(self, held: Sequence[tuple[str, str, int]]) -> list[int]:
        return await self._call(lambda s: s.renew(held))

    async def take(self, scope: str, wanted: int, per_minute: int) -> Grant:
        return await self._call(lambda s: s.take(scope, wanted, per_minute))

    async def slow_down(self, scope: str, per_minute: int, observed: float) -> float:
        return await self._call(lambda s: s.slow_down(scope, per_minute, observed))

    async def _call(self, call: Callable[[Shaper], Awaitable[T]]) -> T:
        try:
            result = await call(self._shared)
        except Exception as exc:
            if not self._failing:
                log.warning("shaping state unreachable, limits hold per process: %r", exc)
                self._failing = True
            return await call(self._local)
        if self._failing:
            log.warning("shaping state reachable again")
            self._failing = False
        return result
