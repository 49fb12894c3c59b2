"""In-memory stand-ins for the notifier's ports, with the same semantics as the adapters."""

from __future__ import annotations

import email
import email.policy
import uuid as _uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from contracts import (
    DigestSent,
    Timing,
)
from notifier.domain import (
    CampaignInfo,
    CampaignSection,
    DigestContent,
    DigestLine,
    Hit,
    HitKind,
    HitStatus,
    MessageEntry,
    Recorded,
    StaffEntry,
    digest_stats,
)
from notifier.mail import RenderedDigest
from notifier.periods import Period
from notifier.ports import Lease, PermanentMailError, UnscheduledHit
from servicekit.auth import Principal, Role


@dataclass
class FakeClock:
    current: datetime = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class FakeSuppression:
    """Same rules as the Redis script; `flush()` plays a Redis restart."""

    def __init__(self) -> None:
        self.last: dict[UUID, tuple[datetime, UUID, datetime | None]] = {}

    async def swap_last_opens(self, opens: Sequence[Hit]) -> dict[UUID, datetime | None]:
        answers: dict[UUID, datetime | None] = {}
        for hit in opens:
            current = self.last.get(hit.message_id)
            if current is None:
                self.last[hit.message_id] = (hit.occurred_at, hit.event_id, None)
                answers[hit.event_id] = None
                continue
            last, last_id, previous = current
            if last_id == hit.event_id:
                answers[hit.event_id] = previous
                continue
            answers[hit.event_id] = last
            if hit.occurred_at > last:
                self.last[hit.message_id] = (hit.occurred_at, hit.event_id, last)
        return answers

    def flush(self) -> None:
        self.last.clear()


@dataclass
class Row:
    recorded: Recorded
    status: str
    timing: Timing | None
    period: Period | None
    digest_id: int | None = None


@dataclass
class DigestRow:
    id: int
    tenant_id: UUID
    user_id: UUID
    boundary: datetime
    period_start: datetime
    state: str = "claimed"
    lease_owner: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0


@dataclass
class FakeStore:
    """Both `HitStore` and `DigestLedger`, in memory."""

    clock: FakeClock
    hits: dict[UUID, Row] = field(default_factory=dict)
    campaigns_: dict[UUID, CampaignInfo] = field(default_factory=dict)
    staff: dict[tuple[UUID, UUID], StaffEntry] = field(default_factory=dict)
    messages: dict[UUID, MessageEntry] = field(default_factory=dict)
    last_open: dict[UUID, datetime] = field(default_factory=dict)
    digests: dict[int, DigestRow] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    tenant_counters: Counter[tuple[UUID, str]] = field(default_factory=Counter)
    outbox: list[DigestSent] = field(default_factory=list)
    classified: dict[UUID, HitKind] = field(default_factory=dict)

    # ------------------------------------------------------------ HitStore

    async def campaigns(self, campaign_ids: set[UUID]) -> dict[UUID, CampaignInfo]:
        return {i: self.campaigns_[i] for i in campaign_ids if i in self.campaigns_}

    async def last_opens(self, message_ids: set[UUID]) -> dict[UUID, datetime]:
        return {i: self.last_open[i] for i in message_ids if i in self.last_open}

    async def record_hits(self, recorded: Sequence[Recorded]) -> dict[HitKind, int]:
        new = Counter[HitKind]()
        for r in recorded:
            self.classified.setdefault(r.hit.event_id, r.kind)
            if r.hit.is_human_open:
                seen = self.last_open.get(r.hit.message_id)
                self.last_open[r.hit.message_id] = max(seen or r.hit.occurred_at, r.hit.occurred_at)
            if r.status is HitStatus.COUNTED:  # counted, not stored: as the adapter does
                if r.hit.event_id in self.hits:
                    continue
                new[r.kind] += 1
                self._count(r.hit.tenant_id, r.kind.value)
                continue
            if r.hit.event_id in self.hits:
                continue
            self.hits[r.hit.event_id] = Row(r, r.status.value, r.timing, r.period)
            new[r.kind] += 1
            self._count(r.hit.tenant_id, r.kind.value)
        return dict(new)

    def _count(self, tenant_id: UUID, name: str) -> None:
        self.counters[name] += 1
        self.tenant_counters[(tenant_id, name)] += 1

    async def save_campaign(self, campaign: CampaignInfo, staff: Sequence[StaffEntry]) -> None:
        self.campaigns_[campaign.campaign_id] = campaign
        for s in staff:
            self.staff[(s.tenant_id, s.user_id)] = s

    async def save_messages(self, messages: Sequence[MessageEntry]) -> None:
        self.messages.update({m.message_id: m for m in messages})

    async def awaiting_hits(self, limit: int) -> list[UnscheduledHit]:
        return [
            self._unscheduled(event_id, row)
            for event_id, row in self.hits.items()
            if row.status == HitStatus.AWAITING and row.recorded.hit.campaign_id in self.campaigns_
        ][:limit]

    async def reschedule(self, changes: Sequence[tuple[UUID, Timing, Period | None]]) -> None:
        for event_id, timing, period in changes:
            row = self.hits[event_id]
            if row.status in ("awaiting", "pending"):
                row.timing, row.period = timing, period
                row.status = "dropped" if timing is Timing.NONE else "pending"

    def _unscheduled(self, event_id: UUID, row: Row) -> UnscheduledHit:
        hit = row.recorded.hit
        return UnscheduledHit(
            event_id,
            row.recorded.kind,
            hit.occurred_at,
            self.campaigns_[hit.campaign_id],
            row.period.end if row.period else None,
        )

    # ------------------------------------------------------------ DigestLedger

    def _due(self, as_of: datetime, tenant_id: UUID | None) -> list[tuple[UUID, Row]]:
        return [
            (event_id, row)
            for event_id, row in self.hits.items()
            if row.status == "pending"
            and row.period is not None
            and row.period.end <= as_of
            and tenant_id in (None, row.recorded.hit.tenant_id)
        ]

    async def claim_due(self, as_of: datetime, tenant_id: UUID | None) -> list[int]:
        by_user: dict[tuple[UUID, UUID], list[Row]] = defaultdict(list)
        for _, row in self._due(as_of, tenant_id):
            hit = row.recorded.hit
            if (hit.tenant_id, hit.user_id) in self.staff:
                by_user[(hit.tenant_id, hit.user_id)].append(row)
        claimed = []
        for (tenant, user), rows in sorted(by_user.items()):
            boundary = max(r.period.end for r in rows if r.period)
            if any(
                (d.tenant_id, d.user_id, d.boundary) == (tenant, user, boundary)
                for d in self.digests.values()
            ):
                continue
            digest = DigestRow(
                len(self.digests) + 1,
                tenant,
                user,
                boundary,
                min(r.period.start for r in rows if r.period),
            )
            self.digests[digest.id] = digest
            for r in rows:
                r.status, r.digest_id = "digested", digest.id
            claimed.append(digest.id)
        return claimed

    async def late_hits(self, as_of: datetime, tenant_id: UUID | None) -> list[UnscheduledHit]:
        keys = {(d.tenant_id, d.user_id, d.boundary) for d in self.digests.values()}
        return [
            self._unscheduled(event_id, row)
            for event_id, row in self._due(as_of, tenant_id)
            if row.period
            and (row.recorded.hit.tenant_id, row.recorded.hit.user_id, row.period.end) in keys
        ]

    async def lease(self, owner: str, limit: int, lease_s: float) -> list[Lease]:
        now = self.clock.now()
        leases = []
        for d in sorted(self.digests.values(), key=lambda d: d.id):
            if len(leases) == limit:
                break
            if d.state in ("claimed", "building", "sending") and (
                d.lease_until is None or d.lease_until < now
            ):
                leases.append(Lease(d.id, d.state, d.attempts + 1))
                d.state, d.lease_owner = "building", owner
                d.lease_until, d.attempts = now + timedelta(seconds=lease_s), d.attempts + 1
        return leases

    async def content(self, digest_id: int, max_lines: int) -> DigestContent | None:
        d = self.digests[digest_id]
        staff = self.staff[(d.tenant_id, d.user_id)]
        rows = sorted(
            (r for r in self.hits.values() if r.digest_id == digest_id),
            key=lambda r: r.recorded.hit.occurred_at,
        )
        sections: dict[UUID, CampaignSection] = {}
        for r in rows:
            hit, kind = r.recorded.hit, r.recorded.kind
            campaign = self.campaigns_[hit.campaign_id]
            section = sections.setdefault(
                hit.campaign_id, CampaignSection(hit.campaign_id, campaign.name, campaign.subject)
            )
            section.counts[kind] = section.counts.get(kind, 0) + 1
            lines = section.lines.setdefault(kind, [])
            if len(lines) < max_lines:
                m = self.messages.get(hit.message_id)
                lines.append(
                    DigestLine(
                        kind,
                        hit.occurred_at,
                        hit.customer_id,
                        m.email if m else None,
                        m.name if m else None,
                        hit.url,
                    )
                )
        zone = next(iter(self.campaigns_.values())).time_zone if self.campaigns_ else "Asia/Tokyo"
        return DigestContent(
            d.id,
            d.tenant_id,
            d.user_id,
            staff.name,
            staff.email,
            d.boundary,
            d.period_start,
            zone,
            frozenset(r.timing for r in rows if r.timing),
            tuple(sections.values()),
        )

    async def mark_sending(self, digest_id: int, owner: str, lease_s: float) -> bool:
        d = self.digests[digest_id]
        if d.state != "building" or not await self.extend_lease(digest_id, owner, lease_s):
            return False
        d.state = "sending"
        return True

    async def extend_lease(self, digest_id: int, owner: str, lease_s: float) -> bool:
        d, now = self.digests[digest_id], self.clock.now()
        if d.lease_owner != owner or d.lease_until is None or d.lease_until <= now:
            return False
        if d.state not in ("building", "sending"):
            return False
        d.lease_until = now + timedelta(seconds=lease_s)
        return True

    async def mark_sent(self, digest_id: int, owner: str, event: DigestSent) -> bool:
        d = self.digests[digest_id]
        if d.lease_owner != owner or d.state != "sending":
            return False
        d.state, d.lease_until = "sent", None
        self.outbox.append(event)
        self._count(d.tenant_id, "digests_sent")
        return True

    async def release(self, digest_id: int, owner: str, *, retry_in: float, error: str) -> None:
        d = self.digests[digest_id]
        if d.lease_owner == owner:
            d.lease_until = self.clock.now() + timedelta(seconds=retry_in)

    async def fail(self, digest_id: int, owner: str, error: str) -> None:
        d = self.digests[digest_id]
        if d.lease_owner == owner:
            d.state, d.lease_until = "failed", None

    async def unsent(self, digest_ids: Sequence[int]) -> list[int]:
        return [i for i in digest_ids if self.digests[i].state not in ("sent", "failed")]

    async def stats(self, tenant_id: UUID | None) -> dict[str, Any]:
        counters = Counter[str]()
        for (tenant, name), n in self.tenant_counters.items():
            if tenant_id in (None, tenant):
                counters[name] += n
        statuses = Counter(
            r.status for r in self.hits.values() if tenant_id in (None, r.recorded.hit.tenant_id)
        )
        return digest_stats(counters, pending=statuses["pending"], awaiting=statuses["awaiting"])

    def by_status(self) -> Counter[str]:
        return Counter(r.status for r in self.hits.values())


class FakeKeys(dict[str, Principal]):
    """API keys, `key -> principal`, as the composer would answer for them."""

    def issue(self, tenant_id: UUID, role: Role = Role.MEMBER) -> dict[str, str]:
        key = f"bm_{_uuid.uuid4().hex[:16]}_{_uuid.uuid4().hex}"
        self[key] = Principal(tenant_id, _uuid.uuid4(), role)
        return {"Authorization": f"Bearer {key}"}

    async def verify(self, api_key: str) -> Principal | None:
        return self.get(api_key)


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.fail_next: int = 0

    async def send(self, mail: RenderedDigest) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("SMTP server went away")
        if mail.rcpt_to in self.refuse:
            raise PermanentMailError("550 5.1.1 user unknown")
        parsed = email.message_from_bytes(mail.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sent.append(parsed)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if m["To"].addresses[0].addr_spec == address]


def as_dict(message: EmailMessage) -> dict[str, Any]:
    return {k: str(v) for k, v in message.items()}
