"""Handlers of the low-volume events: plain functions over ports, no framework."""

from __future__ import annotations

from contracts import AudienceResolved, Bounced, BounceKind, CampaignScheduled, Unsubscribed, encode
from delivery.catalog import CampaignCatalog
from delivery.ports import Campaigns, Suppressions
from delivery.progress import ProgressReporter


async def campaign_scheduled(
    event: CampaignScheduled, *, campaigns: Campaigns, catalog: CampaignCatalog
) -> None:
    """Keep the snapshot for every delivery process; messages waiting for it go on."""
    await campaigns.store_campaign(event.campaign_id, event.tenant_id, encode(event))
    catalog.announce(event)


async def audience_resolved(
    event: AudienceResolved, *, campaigns: Campaigns, progress: ProgressReporter
) -> None:
    """The audience size: the campaign is complete once that many messages are final."""
    await campaigns.store_total(event.campaign_id, event.tenant_id, event.recipients)
    progress.touch([event.campaign_id])


async def bounced(event: Bounced, *, suppressions: Suppressions) -> None:
    """A hard bounce stops later mail to the address (soft ones do not register)."""
    if event.kind is BounceKind.HARD:
        await suppressions.suppress_address(event.tenant_id, event.email, event.occurred_at)


async def unsubscribed(event: Unsubscribed, *, suppressions: Suppressions) -> None:
    await suppressions.suppress_customer(event.tenant_id, event.customer_id, event.occurred_at)
