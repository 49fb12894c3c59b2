"""The wall clock, as the `Clock` port of every service (tests pass a fake one)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
