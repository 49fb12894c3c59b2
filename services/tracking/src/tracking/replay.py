"""A bound on the events one token makes: a pixel or a link hit more than `limit` times
within `window_s` is still answered as usual, but its further hits publish nothing (they
are counted in `tracking_replayed_hits_total` instead). A person opens a mail a few times;
hundreds of hits of one token are a script, and each would be an event for the notifier.

Per process and in memory, with a cap on the tokens remembered. The cap is split the way a
segmented LRU does it: a token seen once waits in `probation`, and only one that comes back
within its window moves to `protected`, so a flood of tokens hit once (the normal traffic)
cannot push out the tokens being replayed. Only verified tokens get here, so forged ones
take no room at all.
"""

from __future__ import annotations

from collections import OrderedDict

#: A token's window packed in one int, (start second << 16) | hits: a third less memory
#: per token than a tuple of a float and an int.
_HITS = 0xFFFF
MAX_LIMIT = _HITS - 1


class ReplayBound:
    def __init__(self, *, limit: int, window_s: float, capacity: int) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        self._limit, self._window_s = limit, window_s
        self._protected_cap = max(1, capacity // 2)
        self._probation_cap = max(1, capacity - self._protected_cap)
        self._probation: OrderedDict[int, int] = OrderedDict()
        self._protected: OrderedDict[int, int] = OrderedDict()

    def admit(self, token: str, now: float) -> bool:
        """Counts a hit of `token`; False once it is beyond the bound in its window."""
        # A verified token is unique; its hash stands for it in a fraction of the memory.
        key = hash(token)
        window = self._protected.get(key)
        if window is not None:
            window = self._protected[key] = self._next(window, now)
            self._protected.move_to_end(key)
        elif (window := self._probation.pop(key, None)) is not None:
            window = self._next(window, now)
            self._promote(key, window)
        else:
            window = int(now) << 16 | 1
            self._on_probation(key, window)
        return window & _HITS <= self._limit

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    def _next(self, window: int, now: float) -> int:
        start = window >> 16
        if now - start >= self._window_s:
            return int(now) << 16 | 1
        return start << 16 | min((window & _HITS) + 1, self._limit + 1)

    def _promote(self, key: int, window: int) -> None:
        self._protected[key] = window
        if len(self._protected) > self._protected_cap:
            demoted, kept = self._protected.popitem(last=False)
            self._on_probation(demoted, kept)

    def _on_probation(self, key: int, window: int) -> None:
        self._probation[key] = window
        if len(self._probation) > self._probation_cap:
            self._probation.popitem(last=False)
