"""What an event is about: a campaign, or one message of a campaign and the address it goes to.

The rules for changing these models are in the package docstring (`contracts/__init__.py`).
"""

from __future__ import annotations

from uuid import UUID

from contracts.base import EmailAddress, Event


class CampaignEvent(Event):
    """An event about one campaign; a campaign's events stay in order."""

    key = "campaign_id"

    campaign_id: UUID


class MessageEvent(CampaignEvent):
    """An event about one message, the mail of a campaign to one customer; a message's events
    stay in order."""

    key = "message_id"

    message_id: UUID
    customer_id: UUID


class AddressedMessageEvent(MessageEvent):
    """A message event that names the address the message goes to."""

    email: EmailAddress
