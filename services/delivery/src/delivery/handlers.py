"""Handlers of the low-volume events: plain functions over ports, no framework."""

from __future__ import annotations

from contracts import Bounced, BounceKind, Unsubscribed
from delivery.ports import Suppressions


async def bounced(event: Bounced, *, suppressions: Suppressions) -> None:
    """A hard bounce stops later mail to the address (soft ones do not register)."""
    if event.kind is BounceKind.HARD:
        await suppressions.suppress_address(event.tenant_id, event.email, event.occurred_at)


async def unsubscribed(event: Unsubscribed, *, suppressions: Suppressions) -> None:
    await suppressions.suppress_customer(event.tenant_id, event.customer_id, event.occurred_at)
