"""Campaign progress from other services' events. Each handler is idempotent by event id:
a redelivered event finds its id recorded and changes nothing."""

from __future__ import annotations

from uuid import UUID

from composer import domain
from composer.ports import Clock, Store, Tx
from contracts import AudienceResolved, Clicked, DeliveryProgress, Opened


async def on_audience_resolved(event: AudienceResolved, *, store: Store, clock: Clock) -> None:
    async with store.transaction() as tx:
        if not await tx.first_seen(event.event_id):
            return
        if event.recipients == 0:
            # Nobody to send to: delivery may never report on it, so the campaign is done now.
            # Campaign row first, then progress: one lock order everywhere.
            await _complete(tx, event.tenant_id, event.campaign_id, clock)
        progress = await tx.progress(event.tenant_id, event.campaign_id)
        if progress is None:
            return
        progress.audience_total = event.recipients
        progress.excluded = dict(event.excluded)
        await tx.save_progress(progress)


async def on_delivery_progress(event: DeliveryProgress, *, store: Store, clock: Clock) -> None:
    """Snapshots are absolute: the latest one wins, and completion is never taken back."""
    async with store.transaction() as tx:
        if not await tx.first_seen(event.event_id):
            return
        if event.completed:
            await _complete(tx, event.tenant_id, event.campaign_id, clock)
        progress = await tx.progress(event.tenant_id, event.campaign_id)
        if progress is None:
            return
        if progress.delivery_at is None or event.occurred_at >= progress.delivery_at:
            progress.delivery_total = event.total
            progress.sent, progress.bounced = event.sent, event.bounced
            progress.soft_bounced, progress.failed = event.soft_bounced, event.failed
            progress.unknown, progress.suppressed = event.unknown, event.suppressed
            progress.delivery_at = event.occurred_at
        progress.completed = progress.completed or event.completed
        await tx.save_progress(progress)


async def on_opened(event: Opened, *, store: Store) -> None:
    async with store.transaction() as tx:
        if await tx.first_seen(event.event_id):
            await tx.add_hits(
                event.tenant_id,
                event.campaign_id,
                opens=0 if event.machine else 1,
                machine_opens=1 if event.machine else 0,
            )


async def on_clicked(event: Clicked, *, store: Store) -> None:
    async with store.transaction() as tx:
        if await tx.first_seen(event.event_id):
            await tx.add_hits(
                event.tenant_id,
                event.campaign_id,
                clicks=0 if event.machine else 1,
                machine_clicks=1 if event.machine else 0,
            )


async def _complete(tx: Tx, tenant_id: UUID, campaign_id: UUID, clock: Clock) -> None:
    campaign = await tx.campaign(tenant_id, campaign_id)
    if campaign is not None and domain.complete(campaign, clock.now()):
        await tx.save_campaign(campaign)
