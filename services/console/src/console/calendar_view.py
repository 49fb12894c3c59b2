"""The schedule as a month calendar (予約, in the tenant's time zone). Pure."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass
class Day:
    day: date
    in_month: bool
    campaigns: list[dict[str, Any]] = field(default_factory=list)


def month_of(text: str | None, today: date) -> date:
    """The first day of `YYYY-MM`, or of this month when absent or malformed."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def shift(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def weeks(month: date, campaigns: list[dict[str, Any]], zone: str) -> list[list[Day]]:
    """Weeks from Sunday to Saturday covering the month; each campaign on its local day."""
    tz = ZoneInfo(zone)
    by_day: dict[date, list[dict[str, Any]]] = {}
    for campaign in campaigns:
        when = datetime.fromisoformat(campaign["scheduled_for"]).astimezone(tz)
        by_day.setdefault(when.date(), []).append(
            {**campaign, "local_time": when.strftime("%H:%M")}
        )
    grid = calendar.Calendar(firstweekday=6).monthdatescalendar(month.year, month.month)
    return [[Day(d, d.month == month.month, by_day.get(d, [])) for d in week] for week in grid]


def month_bounds(month: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    nxt = shift(month, 1)
    return start, datetime(nxt.year, nxt.month, 1, tzinfo=tz)
