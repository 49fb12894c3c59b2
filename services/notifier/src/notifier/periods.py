"""Digest periods: which period of a timing an instant falls in, in the tenant's time zone.

Periods are half-open, [start, end). Boundaries are local: the hour, midnight, Monday 00:00,
the 1st 00:00 of the tenant's zone; so a daily period is 23 or 25 hours long on a DST day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts import Timing

DEFAULT_TIME_ZONE = "Asia/Tokyo"

#: From the finest to the coarsest; a combined digest is labelled with its coarsest timing.
ORDER = (Timing.HOURLY, Timing.DAILY, Timing.WEEKLY, Timing.MONTHLY)


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The zone by IANA name; an unknown name falls back to the product default."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def period_of(timing: Timing, tz: ZoneInfo, at: datetime) -> Period:
    """The period of `timing` that contains `at`. `Timing.NONE` has no period."""
    local = at.astimezone(tz)
    if timing is Timing.HOURLY:
        start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return Period(start, start + timedelta(hours=1))
    if timing is Timing.DAILY:
        first = local.date()
        last = first + timedelta(days=1)
    elif timing is Timing.WEEKLY:
        first = local.date() - timedelta(days=local.weekday())
        last = first + timedelta(days=7)
    elif timing is Timing.MONTHLY:
        first = local.date().replace(day=1)
        last = _first_of_next_month(first)
    else:
        raise ValueError(f"timing {timing} has no period")
    return Period(_midnight(first, tz), _midnight(last, tz))


def next_period(timing: Timing, tz: ZoneInfo, period: Period) -> Period:
    """The period right after `period` (the end instant belongs to the next one)."""
    return period_of(timing, tz, period.end)


def coarsest(timings: set[Timing]) -> Timing:
    ranked = [t for t in ORDER if t in timings]
    return ranked[-1] if ranked else Timing.DAILY


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _first_of_next_month(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
