"""Campaign progress from other services' events. Each handler is idempotent by event id:
a redelivered event finds its id recorded and changes nothing."""

from __future__ import annotations

from composer import domain
from composer.ports import Clock, Hit, Store, Tx
from contracts import AudienceResolved, Clicked, DeliveryProgress, Opened


async def on_audience_resolved(event: AudienceResolved, *, store: Store, clock: Clock) -> None:
    async with store.transaction() as tx:
        if not await tx.first_seen(event.event_id):
            return
        # Campaign row first, then progress: one lock order everywhere.
        campaign = await tx.campaign(event.tenant_id, event.campaign_id)
        progress = await tx.progress(event.tenant_id, event.campaign_id)
        if progress is None:
            return
        progress.audience_total = event.recipients
        progress.excluded = dict(event.excluded)
        await _settle(tx, campaign, progress, clock)


async def on_delivery_progress(event: DeliveryProgress, *, store: Store, clock: Clock) -> None:
    """Reports are absolute: the newest one wins. The campaign is sent once every
    recipient of its audience is final; completion is never taken back."""
    async with store.transaction() as tx:
        if not await tx.first_seen(event.event_id):
            return
        campaign = await tx.campaign(event.tenant_id, event.campaign_id)
        progress = await tx.progress(event.tenant_id, event.campaign_id)
        if progress is None or not progress.take(event):
            return
        await _settle(tx, campaign, progress, clock)


async def on_opened(event: Opened, *, store: Store) -> None:
    await _count(event, Hit("opens", event.machine), store)


async def on_clicked(event: Clicked, *, store: Store) -> None:
    await _count(event, Hit("clicks", event.machine), store)


async def _count(event: Opened | Clicked, hit: Hit, store: Store) -> None:
    async with store.transaction() as tx:
        if await tx.first_seen(event.event_id):
            await tx.add_hit(event.tenant_id, event.campaign_id, hit)


async def _settle(
    tx: Tx, campaign: domain.Campaign | None, progress: domain.Progress, clock: Clock
) -> None:
    if progress.delivered_all() and not progress.completed:
        progress.completed = True
        if campaign is not None and domain.complete(campaign, clock.now()):
            await tx.save_campaign(campaign)
    await tx.save_progress(progress)
