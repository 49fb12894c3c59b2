"""Digest periods per timing, aligned to the tenant's time zone."""

from __future__ import annotations

from datetime import datetime

import pytest

from contracts import Timing
from notifier.periods import Period, coarsest, next_period, period_of, zone

H, D, W, M = Timing.HOURLY, Timing.DAILY, Timing.WEEKLY, Timing.MONTHLY


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("timing", "tz", "at", "start", "end"),
    [
        # hourly: the local hour, also in zones with half-hour offsets
        (
            H,
            "Asia/Tokyo",
            "2026-11-27T10:15:00+09:00",
            "2026-11-27T10:00+09:00",
            "2026-11-27T11:00+09:00",
        ),
        (
            H,
            "Asia/Tokyo",
            "2026-11-27T10:59:59.999+09:00",
            "2026-11-27T10:00+09:00",
            "2026-11-27T11:00+09:00",
        ),
        (
            H,
            "Asia/Tokyo",
            "2026-11-27T11:00:00+09:00",
            "2026-11-27T11:00+09:00",
            "2026-11-27T12:00+09:00",
        ),
        (
            H,
            "Asia/Kolkata",
            "2026-11-27T10:15:00+05:30",
            "2026-11-27T10:00+05:30",
            "2026-11-27T11:00+05:30",
        ),
        (
            H,
            "Asia/Kolkata",
            "2026-11-27T04:50:00+00:00",
            "2026-11-27T10:00+05:30",
            "2026-11-27T11:00+05:30",
        ),
        # daily: local midnight to local midnight
        (
            D,
            "Asia/Tokyo",
            "2026-11-26T23:59:59+09:00",
            "2026-11-26T00:00+09:00",
            "2026-11-27T00:00+09:00",
        ),
        (
            D,
            "Asia/Tokyo",
            "2026-11-26T15:30:00+00:00",
            "2026-11-27T00:00+09:00",
            "2026-11-28T00:00+09:00",
        ),
        (D, "UTC", "2026-11-26T15:30:00+00:00", "2026-11-26T00:00+00:00", "2026-11-27T00:00+00:00"),
        (
            D,
            "America/New_York",
            "2026-11-26T15:30:00+00:00",
            "2026-11-26T00:00-05:00",
            "2026-11-27T00:00-05:00",
        ),
        # daily across DST: 25 hours on the fall-back day, 23 on the spring-forward day
        (
            D,
            "America/New_York",
            "2026-11-01T12:00:00-05:00",
            "2026-11-01T00:00-04:00",
            "2026-11-02T00:00-05:00",
        ),
        (
            D,
            "Europe/Berlin",
            "2026-03-29T12:00:00+02:00",
            "2026-03-29T00:00+01:00",
            "2026-03-30T00:00+02:00",
        ),
        # weekly: Monday 00:00 local (2026-11-30 is a Monday)
        (
            W,
            "Asia/Tokyo",
            "2026-11-27T10:00:00+09:00",
            "2026-11-23T00:00+09:00",
            "2026-11-30T00:00+09:00",
        ),
        (
            W,
            "Asia/Tokyo",
            "2026-11-30T00:00:00+09:00",
            "2026-11-30T00:00+09:00",
            "2026-12-07T00:00+09:00",
        ),
        (
            W,
            "Asia/Tokyo",
            "2026-11-29T23:59:59+09:00",
            "2026-11-23T00:00+09:00",
            "2026-11-30T00:00+09:00",
        ),
        # the same instant is Monday in Tokyo but still Sunday in New York
        (
            W,
            "Asia/Tokyo",
            "2026-11-29T16:00:00+00:00",
            "2026-11-30T00:00+09:00",
            "2026-12-07T00:00+09:00",
        ),
        (
            W,
            "America/New_York",
            "2026-11-29T16:00:00+00:00",
            "2026-11-23T00:00-05:00",
            "2026-11-30T00:00-05:00",
        ),
        # monthly: the 1st 00:00 local, month ends, leap years and the year end
        (
            M,
            "Asia/Tokyo",
            "2026-01-31T23:30:00+09:00",
            "2026-01-01T00:00+09:00",
            "2026-02-01T00:00+09:00",
        ),
        (
            M,
            "Asia/Tokyo",
            "2028-02-29T12:00:00+09:00",
            "2028-02-01T00:00+09:00",
            "2028-03-01T00:00+09:00",
        ),
        (
            M,
            "Asia/Tokyo",
            "2026-12-31T23:59:59+09:00",
            "2026-12-01T00:00+09:00",
            "2027-01-01T00:00+09:00",
        ),
        (
            M,
            "Asia/Tokyo",
            "2026-11-30T15:30:00+00:00",
            "2026-12-01T00:00+09:00",
            "2027-01-01T00:00+09:00",
        ),
        (
            M,
            "America/New_York",
            "2026-11-30T15:30:00+00:00",
            "2026-11-01T00:00-04:00",
            "2026-12-01T00:00-05:00",
        ),
    ],
)
def test_period_of(timing: Timing, tz: str, at: str, start: str, end: str) -> None:
    period = period_of(timing, zone(tz), t(at))
    assert period == Period(t(start), t(end))
    assert period.start <= t(at) < period.end


@pytest.mark.parametrize("timing", [H, D, W, M])
def test_periods_tile_time_without_gaps(timing: Timing) -> None:
    tz = zone("America/New_York")
    period = period_of(timing, tz, t("2026-01-01T00:00:00-05:00"))
    for _ in range(400 if timing is H else 60):
        following = next_period(timing, tz, period)
        assert following.start == period.end and following.end > following.start
        period = following


def test_none_has_no_period() -> None:
    with pytest.raises(ValueError, match="no period"):
        period_of(Timing.NONE, zone("Asia/Tokyo"), t("2026-11-27T10:00:00+09:00"))


def test_unknown_zone_falls_back_to_tokyo() -> None:
    assert zone("Mars/Olympus_Mons").key == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("timings", "expected"),
    [({H}, H), ({H, D}, D), ({W, H}, W), ({M, D, W}, M), (set(), D)],
)
def test_coarsest(timings: set[Timing], expected: Timing) -> None:
    assert coarsest(timings) == expected
