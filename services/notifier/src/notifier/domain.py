"""The notifier's rules: how an open or click becomes (or does not become) a notification.

- An open is the *first open* of its message, a *re-open*, or a *suppressed* re-open: one that
  happened within an hour (one hour included) of the message's previous open (the last one
  seen, notified or not), so a chain of opens every 30 minutes is notified once. Event
  time (`occurred_at`) counts, not arrival time. An open that arrives late, older than the
  last open seen, is compared with that open: within the hour it is suppressed, otherwise
  it is a re-open.
- Clicks are always notified. Machine opens and clicks (image proxies, link scanners) are
  counted and never notified; they do not count as a message's previous open either, so a
  proxy prefetch at delivery time does not hide the customer's real first open.
- Each kind goes out with its campaign's timing; `none` drops it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from uuid import UUID

from contracts import Timing
from notifier.periods import Period, period_of, zone

REOPEN_WINDOW = timedelta(hours=1)
#: Opens are compared in whole milliseconds, the precision of the last open kept in Redis,
#: so that an open classifies alike whether Redis or PostgreSQL knew the previous one.
_WINDOW_MS = REOPEN_WINDOW // timedelta(milliseconds=1)

_MESSAGE_ID_NAMESPACE = uuid.UUID("8f0c5a52-7a1e-4d1b-9a55-0d8c6d7b2f10")


class HitKind(StrEnum):
    FIRST_OPEN = "first_open"
    REOPEN = "reopen"
    CLICK = "click"
    SUPPRESSED = "suppressed"
    MACHINE = "machine"


NOTIFIED = (HitKind.FIRST_OPEN, HitKind.REOPEN, HitKind.CLICK)


class HitStatus(StrEnum):
    PENDING = "pending"
    AWAITING = "awaiting"
    DROPPED = "dropped"
    COUNTED = "counted"


@dataclass(frozen=True, slots=True)
class Hit:
    """What the notifier keeps of an Opened or Clicked event."""

    event_id: UUID
    tenant_id: UUID
    campaign_id: UUID
    message_id: UUID
    customer_id: UUID
    user_id: UUID
    occurred_at: datetime
    is_click: bool
    machine: bool = False
    url: str | None = None

    @property
    def is_human_open(self) -> bool:
        return not self.is_click and not self.machine


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    campaign_id: UUID
    tenant_id: UUID
    name: str
    subject: str
    first_open_timing: Timing
    reopen_timing: Timing
    click_timing: Timing
    time_zone: str
    released_at: datetime

    def timing_for(self, kind: HitKind) -> Timing:
        if kind is HitKind.FIRST_OPEN:
            return self.first_open_timing
        if kind is HitKind.REOPEN:
            return self.reopen_timing
        if kind is HitKind.CLICK:
            return self.click_timing
        return Timing.NONE


@dataclass(frozen=True, slots=True)
class StaffEntry:
    tenant_id: UUID
    user_id: UUID
    name: str
    email: str
    as_of: datetime


@dataclass(frozen=True, slots=True)
class MessageEntry:
    message_id: UUID
    tenant_id: UUID
    campaign_id: UUID
    customer_id: UUID
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """A classified hit, ready to be stored."""

    hit: Hit
    kind: HitKind
    status: HitStatus
    timing: Timing | None = None
    period: Period | None = None


def classify_open(at: datetime, previous: datetime | None) -> HitKind:
    """The manual's "within one hour" (1時間以内) includes the hour itself."""
    if previous is None:
        return HitKind.FIRST_OPEN
    if abs(epoch_ms(at) - epoch_ms(previous)) <= _WINDOW_MS:
        return HitKind.SUPPRESSED
    return HitKind.REOPEN


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch, as the Redis state stores an open."""
    return int(at.timestamp() * 1000)


def kind_of(hit: Hit, previous_open: datetime | None) -> HitKind:
    if hit.machine:
        return HitKind.MACHINE
    if hit.is_click:
        return HitKind.CLICK
    return classify_open(hit.occurred_at, previous_open)


def schedule(hit: Hit, kind: HitKind, campaign: CampaignInfo | None) -> Recorded:
    """Where a classified hit goes: a period of its timing, nowhere, or a wait for the campaign."""
    if kind not in NOTIFIED:
        return Recorded(hit, kind, HitStatus.COUNTED)
    if campaign is None:
        return Recorded(hit, kind, HitStatus.AWAITING)
    timing = campaign.timing_for(kind)
    if timing is Timing.NONE:
        return Recorded(hit, kind, HitStatus.DROPPED, timing)
    period = _period(timing, campaign.time_zone, int(hit.occurred_at.timestamp()) // _QUARTER)
    return Recorded(hit, kind, HitStatus.PENDING, timing, period)


_QUARTER = 900


@lru_cache(maxsize=4096)
def _period(timing: Timing, time_zone: str, quarter: int) -> Period:
    """Periods of a quarter-hour: every zone's offset is a multiple of 15 minutes, so no
    period boundary falls inside one, and a batch of hits needs only a few computations."""
    return period_of(timing, zone(time_zone), datetime.fromtimestamp(quarter * _QUARTER, UTC))


# ---------------------------------------------------------------- digests


@dataclass(frozen=True, slots=True)
class DigestLine:
    kind: HitKind
    occurred_at: datetime
    customer_id: UUID
    email: str | None
    name: str | None
    url: str | None = None


@dataclass(slots=True)
class CampaignSection:
    campaign_id: UUID
    name: str
    subject: str
    counts: dict[HitKind, int] = field(default_factory=dict)
    lines: dict[HitKind, list[DigestLine]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DigestContent:
    digest_id: int
    tenant_id: UUID
    user_id: UUID
    recipient_name: str
    recipient_email: str
    boundary: datetime
    period_start: datetime
    time_zone: str
    timings: frozenset[Timing]
    sections: tuple[CampaignSection, ...]

    def total(self, kind: HitKind) -> int:
        return sum(s.counts.get(kind, 0) for s in self.sections)

    @property
    def empty(self) -> bool:
        return not any(self.total(k) for k in NOTIFIED)


def digest_message_id(tenant_id: UUID, user_id: UUID, boundary: datetime, domain: str) -> str:
    """Message-ID of the one digest of (user, boundary): a resend after a crash repeats it."""
    key = f"{tenant_id}:{user_id}:{int(boundary.timestamp())}"
    return f"<digest.{uuid.uuid5(_MESSAGE_ID_NAMESPACE, key)}@{domain}>"


def digest_stats(counters: Mapping[str, int], *, pending: int, awaiting: int) -> dict[str, int]:
    """The stats endpoint's figures from the running totals (by kind, and `digests_sent`)."""
    return {
        "digests_sent": counters.get("digests_sent", 0),
        "notifications_pending": pending,
        "awaiting_campaign": awaiting,
        "suppressed_reopens": counters.get(HitKind.SUPPRESSED.value, 0),
        "machine_events": counters.get(HitKind.MACHINE.value, 0),
        "first_opens": counters.get(HitKind.FIRST_OPEN.value, 0),
        "reopens": counters.get(HitKind.REOPEN.value, 0),
        "clicks": counters.get(HitKind.CLICK.value, 0),
    }
