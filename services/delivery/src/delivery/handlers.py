"""Handlers of the low-volume events: plain functions over ports, no framework."""

from __future__ import annotations

from contracts import Bounced, BounceKind, Unsubscribed
from delivery.domain import event_id
from delivery.metrics import REPORTS
from delivery.ports import Suppressions


async def bounced(event: Bounced, *, suppressions: Suppressions) -> None:
    """A hard bounce stops later mail to the address (soft ones do not register). A DSN
    bounce counts only as delivery published it, having checked the DSN's address against
    its ledger (reports.py); one published by anyone else, unchecked, is ignored."""
    if event.kind is not BounceKind.HARD:
        return
    if event.source == "dsn" and (
        event.message_id is None or event.event_id != event_id(event.message_id, "Bounced")
    ):
        REPORTS.labels("bounced", "unchecked").inc()
        return
    await suppressions.suppress_address(event.tenant_id, event.email, event.occurred_at)


async def unsubscribed(event: Unsubscribed, *, suppressions: Suppressions) -> None:
    await suppressions.suppress_customer(event.tenant_id, event.customer_id, event.occurred_at)
