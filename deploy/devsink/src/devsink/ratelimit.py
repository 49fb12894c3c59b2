"""Per recipient domain limits on accepted recipients per second, over a sliding window.

A sliding window rather than a token bucket: "at most R in any one second" is what a test
can state and check exactly, and a bucket's burst allowance would blur it. Each window keeps
the times of at most R acceptances and drops expired ones from its front, so a check costs
amortised O(1) whatever the history, and memory is bounded by the limits themselves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

WINDOW_SECONDS = 1.0


class SlidingWindow:
    __slots__ = ("_times", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._times: deque[float] = deque()

    def full(self, now: float) -> bool:
        times = self._times
        horizon = now - WINDOW_SECONDS
        while times and times[0] <= horizon:
            times.popleft()
        return len(times) >= self.limit

    def record(self, now: float) -> None:
        self._times.append(now)

    def clear(self) -> None:
        self._times.clear()


class DomainRateLimits:
    def __init__(self, limits: Mapping[str, int]) -> None:
        self._windows: dict[str, SlidingWindow] = {}
        self.configure(limits)

    def window(self, domain: str) -> SlidingWindow | None:
        """The domain's window; None, the common case, when the domain has no limit."""
        return self._windows.get(domain)

    def configure(self, limits: Mapping[str, int]) -> None:
        """Replace the limits; a domain that keeps a limit keeps its recent history, so
        changing a limit mid-test does not hand out a fresh second's worth at once."""
        windows = {}
        for domain, limit in limits.items():
            window = self._windows.get(domain) or SlidingWindow(limit)
            window.limit = limit
            windows[domain] = window
        self._windows = windows

    def clear(self) -> None:
        for window in self._windows.values():
            window.clear()
