"""What the service does with each event: plain async functions over the ports."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from contracts import (
    AudienceResolved,
    Bounced,
    BounceKind,
    CampaignScheduled,
    Complained,
    Unsubscribed,
)
from recipients.domain import AudiencePlan, Checkpoint, audience_event_id, plan_audience
from recipients.encoding import RecipientEncoder
from recipients.ports import (
    Audience,
    Candidate,
    Clock,
    Publisher,
    RecipientSink,
    Resolutions,
    Suppressions,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pace:
    """How an audience streams: customers per batch (and per checkpoint), and batches
    published but not yet acknowledged."""

    batch_size: int
    max_in_flight: int


@dataclass(frozen=True)
class AudienceStream:
    """Where an audience is read from, checkpointed and published to, and at which pace."""

    audience: Audience
    resolutions: Resolutions
    sink: RecipientSink
    publisher: Publisher
    clock: Clock
    pace: Pace


async def resolve_audience(
    event: CampaignScheduled, stream: AudienceStream
) -> AudienceResolved | None:
    """Publish one RecipientResolved per recipient, then the AudienceResolved summary.

    Resumes after the checkpoint of an interrupted run; returns None, publishing nothing,
    when the campaign's audience was already resolved completely.
    """
    plan = plan_audience(event)
    resolutions = stream.resolutions
    async with resolutions.exclusive(plan.campaign_id):
        checkpoint = await resolutions.load(plan)
        if checkpoint.completed:
            log.info("campaign %s: audience already resolved, nothing to do", plan.campaign_id)
            return None
        # Again on a resumed run: readers drop the second copy, and it costs one record a
        # partition, whereas a recipient arriving before its campaign would stall.
        await stream.sink.announce(event)
        checkpoint = await _publish_recipients(plan, checkpoint, stream)
        summary = AudienceResolved(
            event_id=audience_event_id(plan.campaign_id),
            tenant_id=plan.tenant_id,
            campaign_id=plan.campaign_id,
            recipients=checkpoint.published,
            excluded=dict(checkpoint.excluded),
        )
        await stream.publisher.publish([summary])
        await resolutions.finish(plan.campaign_id)
    return summary


async def _publish_recipients(
    plan: AudiencePlan, checkpoint: Checkpoint, stream: AudienceStream
) -> Checkpoint:
    """Stream the audience to the sink with up to `pace.max_in_flight` batches unacknowledged.

    Batches are acknowledged in order and the checkpoint moves only past a batch whose
    every record Kafka acknowledged: a crash repeats at most the unacknowledged batches,
    with the same message ids.
    """
    pace, resolutions = stream.pace, stream.resolutions
    encoder = RecipientEncoder(plan, stream.clock.now())
    in_flight: deque[tuple[Awaitable[object], Checkpoint]] = deque()
    reached = checkpoint
    batches = stream.audience.batches(plan, after=checkpoint.last_customer_id, size=pace.batch_size)
    try:
        async for batch in batches:
            records = encoder.encode_batch(batch)
            acked = await stream.sink.enqueue(records)
            reached = _after(reached, batch, len(records))
            in_flight.append((acked, reached))
            while len(in_flight) > pace.max_in_flight:
                await _confirm(in_flight.popleft(), plan, resolutions)
        while in_flight:
            await _confirm(in_flight.popleft(), plan, resolutions)
    finally:
        await batches.aclose()  # ends the cursor's transaction now, also on failure
        for acked, _ in in_flight:
            _forget(acked)
    return reached


def _after(checkpoint: Checkpoint, batch: Sequence[Candidate], published: int) -> Checkpoint:
    reasons = [row[1] for row in batch if row[1] is not None]
    return checkpoint.advanced(batch[-1][0], published, reasons)


async def _confirm(
    entry: tuple[Awaitable[object], Checkpoint], plan: AudiencePlan, resolutions: Resolutions
) -> None:
    acked, checkpoint = entry
    await acked
    await resolutions.save(plan.campaign_id, checkpoint)


def _forget(acked: Awaitable[object]) -> None:
    """After a failure, later batches may still complete or fail; nobody waits for them."""
    cancel = getattr(acked, "cancel", None)
    if cancel is not None:
        cancel()


async def register_bounce(event: Bounced, *, suppressions: Suppressions) -> bool:
    """A hard bounce keeps the address out of bulk mail; soft bounces change nothing."""
    if event.kind is not BounceKind.HARD:
        return False
    return await suppressions.bounce(event)


async def register_complaint(event: Complained, *, suppressions: Suppressions) -> bool:
    return await suppressions.complain(event)


async def register_unsubscribe(event: Unsubscribed, *, suppressions: Suppressions) -> bool:
    return await suppressions.unsubscribe(
        event.tenant_id, event.customer_id, event.occurred_at, source=event.method
    )
