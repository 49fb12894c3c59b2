"""What the handlers need from the outside world, as Protocols; fakes live in tests/fakes.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from contracts import DigestSent, Timing
from notifier.domain import (
    CampaignInfo,
    DigestContent,
    Hit,
    HitKind,
    MessageEntry,
    Recorded,
    StaffEntry,
)
from notifier.mail import RenderedDigest
from notifier.periods import Period


class Clock(Protocol):
    def now(self) -> datetime: ...


class SuppressionState(Protocol):
    """The last open of each message, swapped atomically (Redis in production)."""

    async def swap_last_opens(self, opens: Sequence[Hit]) -> dict[UUID, datetime | None]:
        """For each open, in order: record it as its message's last open when it is newer,
        and answer the previous open (None when none is known). A redelivered event gets the
        answer it got the first time. Keyed by event id."""
        ...


@dataclass(frozen=True, slots=True)
class UnscheduledHit:
    """A notifiable hit that needs (another) period: its campaign arrived, or it came late."""

    event_id: UUID
    kind: HitKind
    occurred_at: datetime
    campaign: CampaignInfo
    period_end: datetime | None = None


class HitStore(Protocol):
    async def campaigns(self, campaign_ids: set[UUID]) -> dict[UUID, CampaignInfo]: ...

    async def last_opens(self, message_ids: set[UUID]) -> dict[UUID, datetime]:
        """The durable last open of messages, for those Redis knows nothing about."""
        ...

    async def record_hits(self, recorded: Sequence[Recorded]) -> dict[HitKind, int]:
        """Store new hits (ids seen before are ignored); returns the new ones by kind."""
        ...

    async def save_campaign(self, campaign: CampaignInfo, staff: Sequence[StaffEntry]) -> None: ...

    async def save_messages(self, messages: Sequence[MessageEntry]) -> None: ...

    async def awaiting_hits(self, limit: int) -> list[UnscheduledHit]:
        """Hits waiting for a campaign that is now known."""
        ...

    async def reschedule(self, changes: Sequence[tuple[UUID, Timing, Period | None]]) -> None:
        """Give hits a timing and period (None: dropped)."""
        ...

    async def prune(self, keep_days: int) -> object:
        """Forget handled hits older than `keep_days` (their digests went long ago)."""
        ...


@dataclass(frozen=True, slots=True)
class Lease:
    digest_id: int
    previous_state: str
    attempts: int


class DigestLedger(Protocol):
    async def claim_due(self, as_of: datetime, tenant_id: UUID | None) -> list[int]:
        """One ledger row per user with hits whose period ended by `as_of`, holding them all;
        a (user, boundary) that has a row already is skipped. Returns the new digest ids."""
        ...

    async def late_hits(self, as_of: datetime, tenant_id: UUID | None) -> list[UnscheduledHit]:
        """Due hits whose (user, period end) already has a digest: they came too late."""
        ...

    async def lease(self, owner: str, limit: int, lease_s: float) -> list[Lease]:
        """Take unsent digests nobody holds (or whose holder's lease expired)."""
        ...

    async def content(self, digest_id: int, max_lines: int) -> DigestContent | None: ...

    async def mark_sending(self, digest_id: int, owner: str, lease_s: float) -> bool:
        """`sending`, only while `owner`'s lease still runs; the lease then runs `lease_s`
        from now. False when the lease ran out (another process may hold the digest)."""
        ...

    async def extend_lease(self, digest_id: int, owner: str, lease_s: float) -> bool:
        """The lease runs `lease_s` from now, if it is still `owner`'s and running."""
        ...

    async def mark_sent(self, digest_id: int, owner: str, event: DigestSent) -> bool:
        """Sent, with its DigestSent in the outbox, in one transaction."""
        ...

    async def release(self, digest_id: int, owner: str, *, retry_in: float, error: str) -> None:
        """Give a digest back for a later attempt."""
        ...

    async def fail(self, digest_id: int, owner: str, error: str) -> None: ...

    async def unsent(self, digest_ids: Sequence[int]) -> list[int]: ...

    async def stats(self, tenant_id: UUID | None) -> dict[str, Any]:
        """Counters for the stats endpoint, of one tenant or of all."""
        ...


class PermanentMailError(Exception):
    """The mail server refused the digest for good (5xx)."""


class Mailer(Protocol):
    async def send(self, mail: RenderedDigest) -> None:
        """Raises PermanentMailError on a 5xx refusal, anything else on temporary trouble."""
        ...
