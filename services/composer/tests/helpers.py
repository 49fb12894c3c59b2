"""Shortcuts of the composer's unit tests: drafts made through the handlers."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from composer_tests_fakes import FakeClock, FakeStore

from composer import handlers
from composer.domain import Campaign, CampaignContent, RegisteredSender
from servicekit.auth import Principal


async def draft(store: FakeStore, clock: FakeClock, actor: Principal, **overrides: Any) -> Campaign:
    """A draft made through the handlers: a text mail to one customer, unless overridden."""
    values: dict[str, Any] = {
        "subject": "News",
        "text_body": "Hello {{ first_name }}",
        "recipients": {"customer_ids": [str(uuid4())]},
    }
    body = CampaignContent.model_validate(values | overrides)
    return await handlers.create_campaign(body, actor=actor, store=store, clock=clock)


def on_behalf(of: RegisteredSender | Principal) -> dict[str, str]:
    """The content fields that send a campaign on behalf of a registered sender or a user."""
    if isinstance(of, RegisteredSender):
        return {"sender_mode": "on_behalf_registered", "sender_registered_id": str(of.id)}
    return {"sender_mode": "on_behalf_user", "sender_user_id": str(of.user_id)}
