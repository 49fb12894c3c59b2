"""Circuit breakers (per relay, per destination) and the detector of refusal storms.

A breaker is CLOSED while its relay or destination answers. After `failures` connection
failures in a row it is OPEN: nothing is sent there, and the messages wait without
spending an attempt. When the pause is over one message may probe it (HALF_OPEN): an
answer closes the breaker, another failure opens it again for twice as long (capped).

Breakers are per process: each process learns of an outage from its own connections
within a few failures, which costs no message anything, and needs no shared state that
could itself be down.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from enum import StrEnum

from delivery.shaping.config import BreakerPolicy, StormPolicy


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float]) -> None:
        self._policy = policy
        self._clock = clock
        self._failures = 0
        self._opened_for = 0.0
        self.reopens_at = 0.0
        self.state = BreakerState.CLOSED
        self._probing = False

    def allows(self) -> bool:
        """Whether a message may go now; in HALF_OPEN only one at a time (the probe)."""
        if self.state is BreakerState.OPEN and self._clock() >= self.reopens_at:
            self.state = BreakerState.HALF_OPEN
        if self.state is BreakerState.CLOSED:
            return True
        return self.state is BreakerState.HALF_OPEN and not self._probing

    def started(self) -> None:
        """A message was let through; in HALF_OPEN it is the probe."""
        if self.state is BreakerState.HALF_OPEN:
            self._probing = True

    def abandon(self) -> None:
        """The message let through was not sent after all: another may probe."""
        self._probing = False

    def succeeded(self) -> None:
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_for = 0.0
        self._probing = False

    def failed(self) -> bool:
        """A connection failure; True when the breaker opened because of it."""
        if self.state is BreakerState.HALF_OPEN:
            self._open(min(self._policy.max_open_seconds, max(self._opened_for, 1e-3) * 2))
            return True
        if self.state is BreakerState.OPEN:
            return False  # a straggler of the burst that opened it
        self._failures += 1
        if self._failures >= max(1, self._policy.failures):
            self._open(self._policy.open_seconds)
            return True
        return False

    def trip(self) -> None:
        """Open now, whatever the count (a refusal storm)."""
        if self.state is BreakerState.HALF_OPEN:
            self.failed()
        elif self.state is BreakerState.CLOSED:
            self._open(self._policy.open_seconds)

    def waiting(self) -> float:
        """Seconds until a probe may go (0 when sending is allowed)."""
        if self.state is BreakerState.OPEN:
            return max(0.0, self.reopens_at - self._clock())
        return 0.0

    def _open(self, seconds: float) -> None:
        self.state = BreakerState.OPEN
        self._opened_for = seconds
        self.reopens_at = self._clock() + seconds
        self._failures = 0
        self._probing = False


class StormDetector:
    """Identical permanent refusals from one destination, against all it answered, over a
    sliding window kept in one-second buckets (memory does not grow with the rate)."""

    def __init__(self, policy: StormPolicy, clock: Callable[[], float]) -> None:
        self._policy = policy
        self._clock = clock
        self._buckets: deque[tuple[int, Counter[str | None]]] = deque()
        self._total: Counter[str | None] = Counter()

    def answered(self, refusal: str | None) -> bool:
        """One answer (`refusal`: the refusal's key, None for anything else); True when the
        refusals of that key now make a storm."""
        second = int(self._clock())
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append((second, Counter()))
        self._buckets[-1][1][refusal] += 1
        self._total[refusal] += 1
        while self._buckets and self._buckets[0][0] <= second - self._policy.window_seconds:
            self._total.subtract(self._buckets.popleft()[1])
        if refusal is None:
            return False
        same = self._total[refusal]
        answers = sum(self._total.values())
        storm = same >= self._policy.min_refusals and same >= self._policy.ratio * answers
        if storm:
            self._buckets.clear()
            self._total.clear()
        return storm
