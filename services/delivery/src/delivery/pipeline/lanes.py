"""What the dispatcher keeps per destination: a lane (the queue of one shaping scope and
what this process knows of its room), the health of each destination (breaker, refusal
storms), and the seat of each sender (the slot it holds)."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from delivery.pipeline.items import Job
from delivery.shaping.breaker import Breaker, StormDetector
from delivery.shaping.config import Limits

#: Leased tokens not used within this many seconds are dropped, so that a lease taken
#: before a slow-down does not outlive it.
LEASE_SECONDS = 1.0
#: Completions remembered to measure a lane's throughput.
MEASURED = 64
#: A lane without a rate of its own asks the shared state about it (a slow-down another
#: process caused) at most this often; in between its tokens are counted here only.
RECHECK_RATE_SECONDS = 1.0


@dataclass(eq=False)
class Lane:
    """One shaping scope's queue: a destination, or one tenant's budget at it."""

    scope: str
    destination: str
    limits: Limits
    queue: deque[Job] = field(default_factory=deque)
    #: Senders of this process holding one of the scope's concurrency slots.
    senders: int = 0
    #: Tokens leased from the shared bucket, usable until `tokens_until`.
    tokens: int = 0
    tokens_until: float = 0.0
    #: The rate in force as the shared state last said (per minute; 0: none).
    per_minute: float = 0.0
    #: No token was to be had: nobody sends to it before this.
    blocked_until: float = 0.0
    #: No slot was to be had: a seat without one does not ask again before this.
    slots_until: float = 0.0
    #: When a lane without a rate last asked the shared state about one.
    rate_checked: float = -1e9
    _done: deque[float] = field(default_factory=lambda: deque(maxlen=MEASURED))

    def __post_init__(self) -> None:
        self.per_minute = float(self.limits.per_minute)

    def usable_tokens(self, now: float) -> int:
        if now >= self.tokens_until:
            self.tokens = 0
        return self.tokens

    def wanted(self) -> int:
        """How many tokens to lease at once: a quarter second's worth, at most the queue."""
        per_second = self.per_minute / 60
        batch = 64 if per_second <= 0 else max(1, math.ceil(per_second / 4))
        return max(1, min(len(self.queue), batch))

    def finished(self, now: float) -> None:
        """A message to it was answered. Only completions while others wait measure how
        fast the destination takes mail; with nothing waiting, the pace was ours."""
        if self.queue:
            self._done.append(now)
        else:
            self.drained()

    def drained(self) -> None:
        """Nothing waits for it any more: the next backlog is measured afresh (a lane used
        now and then must not pass for a slow one)."""
        self._done.clear()

    def unlimited(self, now: float) -> bool:
        """No rate in force, as checked recently: its tokens need not be asked for."""
        return self.per_minute <= 0 and now - self.rate_checked < RECHECK_RATE_SECONDS

    def throughput(self, now: float) -> float:
        """Messages per second this lane has been sending here while it had a backlog (its
        connection limit when nothing is measured), capped by its rate when it has one."""
        if len(self._done) >= 2 and now - self._done[0] > 0:
            measured = len(self._done) / (now - self._done[0])
        else:
            measured = float(self.limits.connections)
        per_second = self.per_minute / 60
        return min(measured, per_second) if per_second > 0 else measured

    def wait(self, position: int, pause: float, now: float) -> float:
        """Seconds until the job at `position` of the queue may expect its turn."""
        ahead = max(0, position + 1 - self.usable_tokens(now))
        return pause + max(0.0, self.blocked_until - now) + ahead / max(self.throughput(now), 1e-3)


@dataclass(eq=False)
class Seat:
    """A sender as the dispatcher sees it: the lane it sends to now, and the slots it
    holds (kept a little after it moves on, so that a sender going back and forth
    between destinations does not trade slots for every message; holding a slot it does
    not use only ever leaves a destination fewer connections, never more)."""

    holder: str
    lane: Lane | None = None
    #: Scope -> (its lane, when this seat last sent to it).
    held: dict[str, tuple[Lane, float]] = field(default_factory=dict)


class Health:
    """One destination's breaker and storm detector, and the refusal that tripped it."""

    def __init__(self, breaker: Breaker, storms: StormDetector) -> None:
        self.breaker = breaker
        self.storms = storms
        self.tripped_by: str | None = None


class Healths:
    def __init__(self, make: Callable[[], Health]) -> None:
        self._make = make
        self._by_destination: dict[str, Health] = {}

    def of(self, destination: str) -> Health:
        health = self._by_destination.get(destination)
        if health is None:
            health = self._by_destination[destination] = self._make()
        return health


def preference(seat: Seat, candidates: list[Lane]) -> list[Lane]:
    """A seat stays with its lane unless another lane with jobs has at least two senders
    fewer here: senders spread evenly over the destinations with work."""
    ordered = sorted(candidates, key=lambda lane: (lane.senders, random.random()))
    current = seat.lane
    if current is not None and current in candidates:
        fewest = min((c.senders for c in candidates if c is not current), default=None)
        if fewest is None or fewest + 1 >= current.senders:
            ordered.remove(current)
            ordered.insert(0, current)
    return ordered


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].lower()


def spread(seconds: float) -> float:
    """Deferred messages of one burst come back spread out, not all in the same instant."""
    return seconds * random.uniform(1.0, 1.2)
