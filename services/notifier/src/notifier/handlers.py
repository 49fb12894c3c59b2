"""Use cases: plain async functions over the ports. No framework imports here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from contracts import CampaignScheduled, DigestSent, MessageSent, Timing
from notifier.domain import (
    CampaignInfo,
    DigestContent,
    Hit,
    HitKind,
    HitStatus,
    MessageEntry,
    StaffEntry,
    digest_message_id,
    kind_of,
    schedule,
)
from notifier.mail import render_digest, sender_domain
from notifier.periods import Period, coarsest, period_of, zone
from notifier.ports import (
    Clock,
    DigestLedger,
    HitStore,
    Lease,
    Mailer,
    PermanentMailError,
    SuppressionState,
    UnscheduledHit,
)
from servicekit.byname import from_attributes

log = logging.getLogger(__name__)

#: A close pass re-claims after moving late hits; this bounds the rounds of one pass.
MAX_CLOSE_ROUNDS = 8


# ---------------------------------------------------------------- ingest


async def ingest_hits(
    hits: Sequence[Hit], *, suppression: SuppressionState, store: HitStore
) -> dict[HitKind, int]:
    """Classify and store a batch of opens and clicks; returns the new hits by kind."""
    hits = _first_of_each(hits)
    opens = [h for h in hits if h.is_human_open]
    previous = await suppression.swap_last_opens(opens) if opens else {}
    # Redis knows nothing of these: a first open, or Redis lost its state or let it expire.
    unknown = {h.message_id for h in opens if previous.get(h.event_id) is None}
    durable = await store.last_opens(unknown) if unknown else {}
    campaigns = await store.campaigns({h.campaign_id for h in hits if not h.machine})
    recorded = []
    for hit in hits:
        before = previous.get(hit.event_id) or durable.get(hit.message_id)
        kind = kind_of(hit, before)
        recorded.append(schedule(hit, kind, campaigns.get(hit.campaign_id)))
    new = await store.record_hits(recorded)
    if any(r.status is HitStatus.AWAITING for r in recorded):
        # The campaign may have been stored after it was looked up above, and its consumer
        # may have scheduled what was waiting before these hits were stored: looking again
        # now, after they are, leaves none of them waiting for a campaign that is known.
        await schedule_awaiting(store=store)
    return new


def _first_of_each(hits: Sequence[Hit]) -> list[Hit]:
    """A batch may hold one event twice (redelivery); only its first copy is classified."""
    unique: dict[UUID, Hit] = {}
    for hit in hits:
        unique.setdefault(hit.event_id, hit)
    return list(unique.values())


async def record_campaign(event: CampaignScheduled, *, store: HitStore) -> None:
    """Keep what digests need of a released campaign: timings, zone, subject, staff."""
    campaign = from_attributes(CampaignInfo, event, event.tracking, released_at=event.occurred_at)
    people = {m.user_id: m for m in [event.operator, *event.staff]}
    staff = [
        StaffEntry(event.tenant_id, m.user_id, m.name, m.email, event.occurred_at)
        for m in people.values()
    ]
    await store.save_campaign(campaign, staff)


async def record_messages(events: Sequence[MessageSent], *, store: HitStore) -> None:
    entries = [
        MessageEntry(e.message_id, e.tenant_id, e.campaign_id, e.customer_id, e.email, e.name)
        for e in events
    ]
    await store.save_messages(entries)


async def schedule_awaiting(*, store: HitStore, limit: int = 10_000) -> int:
    """Hits that arrived before their campaign's settings get their periods now."""
    waiting = await store.awaiting_hits(limit)
    changes = []
    for h in waiting:
        timing = h.campaign.timing_for(h.kind)
        period = None
        if timing is not Timing.NONE:
            period = period_of(timing, zone(h.campaign.time_zone), h.occurred_at)
        changes.append((h.event_id, timing, period))
    await store.reschedule(changes)
    return len(changes)


# ---------------------------------------------------------------- closing periods


async def close_periods(
    as_of: datetime, *, ledger: DigestLedger, store: HitStore, tenant_id: UUID | None = None
) -> list[int]:
    """Claim one digest per user whose periods ended by `as_of`; returns the new digest ids.

    A hit whose (user, period end) was digested already came too late for it: it moves to
    the next period of its timing rather than producing a second digest for that boundary.
    """
    claimed: list[int] = []
    for _ in range(MAX_CLOSE_ROUNDS):
        claimed += await ledger.claim_due(as_of, tenant_id)
        late = await ledger.late_hits(as_of, tenant_id)
        if not late:
            break
        await store.reschedule([_moved(h) for h in late])
    return claimed


def _moved(h: UnscheduledHit) -> tuple[UUID, Timing, Period | None]:
    timing = h.campaign.timing_for(h.kind)
    assert h.period_end is not None
    # Periods are half-open: the instant a period ends at lies in the next one.
    return (h.event_id, timing, period_of(timing, zone(h.campaign.time_zone), h.period_end))


# ---------------------------------------------------------------- sending digests


@dataclass(frozen=True, slots=True)
class SendOptions:
    sender: str
    owner: str
    lease_s: float = 120.0
    concurrency: int = 4
    max_lines: int = 100
    retry_in: float = 60.0
    max_attempts: int = 10
    after_build: Callable[[], None] | None = None


async def send_due_digests(
    *, ledger: DigestLedger, mailer: Mailer, clock: Clock, options: SendOptions
) -> int:
    """Send every digest this process can lease; returns how many were sent.

    A digest is leased only when a sending slot is free for it: a lease taken for a digest
    that then waits for a slot could run out, and another process would send it as well.
    """
    sent = 0
    busy: set[asyncio.Task[bool]] = set()
    send = partial(send_digest, ledger=ledger, mailer=mailer, clock=clock, options=options)
    try:
        while True:
            free = options.concurrency - len(busy)
            leases = await ledger.lease(options.owner, free, options.lease_s) if free else []
            busy |= {asyncio.create_task(send(lease)) for lease in leases}
            if not busy:
                return sent
            done, busy = await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
            sent += sum(task.result() for task in done)
    finally:
        for task in busy:
            task.cancel()


async def send_digest(
    lease: Lease, *, ledger: DigestLedger, mailer: Mailer, clock: Clock, options: SendOptions
) -> bool:
    """Build, send and record one leased digest. The ledger moves to `sending` only after the
    build, so a crash while building leaves a digest that is simply built again."""
    digest_id = lease.digest_id
    if lease.previous_state == "sending":
        # The last holder died after handing the mail to SMTP or just before: it may have
        # gone out. Sent again under the same Message-ID; see README "State and failure".
        log.warning("digest %s may have been sent already; sending it again", digest_id)
    try:
        content = await ledger.content(digest_id, options.max_lines)
        if content is None or content.empty:
            await ledger.fail(digest_id, options.owner, "nothing to send")
            return False
        domain = sender_domain(options.sender)
        message_id = digest_message_id(content.tenant_id, content.user_id, content.boundary, domain)
        mail = render_digest(content, sender=options.sender, message_id=message_id, now=clock.now())
        if options.after_build is not None:
            options.after_build()
        if not await ledger.mark_sending(digest_id, options.owner, options.lease_s):
            return False  # our lease ran out and another process may have the digest now
        async with _lease_kept(digest_id, ledger=ledger, options=options):
            await mailer.send(mail)
    except PermanentMailError as exc:
        await ledger.fail(digest_id, options.owner, str(exc)[:500])
        return False
    except Exception as exc:
        if lease.attempts >= options.max_attempts:
            await ledger.fail(digest_id, options.owner, repr(exc)[:500])
            return False
        log.warning("digest %s not sent, will retry: %r", digest_id, exc)
        await ledger.release(digest_id, options.owner, retry_in=options.retry_in, error=repr(exc))
        return False
    return await ledger.mark_sent(digest_id, options.owner, _digest_sent(content, clock))


@asynccontextmanager
async def _lease_kept(
    digest_id: int, *, ledger: DigestLedger, options: SendOptions
) -> AsyncIterator[None]:
    """Extends the lease while the block runs: a slow mail server must not let the lease run
    out in mid-send, or another process would take the digest over and send it again."""

    async def keep() -> None:
        while True:
            await asyncio.sleep(options.lease_s / 3)
            if not await ledger.extend_lease(digest_id, options.owner, options.lease_s):
                log.warning("digest %s: lease lost while sending", digest_id)
                return

    keeper = asyncio.create_task(keep())
    try:
        yield
    finally:
        keeper.cancel()


def _digest_sent(content: DigestContent, clock: Clock) -> DigestSent:
    return DigestSent(
        tenant_id=content.tenant_id,
        occurred_at=clock.now(),
        user_id=content.user_id,
        timing=coarsest(set(content.timings)),
        period_start=content.period_start,
        period_end=content.boundary,
        first_opens=content.total(HitKind.FIRST_OPEN),
        reopens=content.total(HitKind.REOPEN),
        clicks=content.total(HitKind.CLICK),
        campaign_ids=[s.campaign_id for s in content.sections],
    )
