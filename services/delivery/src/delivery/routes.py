"""What delivery consumes. The recipient stream (each campaign's snapshot ahead of its
recipients on every partition) goes to the pipeline, which commits for itself once the
ledger holds each outcome; suppressions learnt after resolution are kept so that later
messages to those customers are dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts import (
    Bounced,
    CampaignScheduled,
    DeliveryProgress,
    MessageSent,
    RecipientResolved,
    Unsubscribed,
    topics,
)
from delivery import handlers
from delivery.settings import Settings
from servicekit.kafka import Batch, Subscription

if TYPE_CHECKING:
    from delivery.main import Delivery

EMITS = (MessageSent, Bounced, DeliveryProgress)


async def on_recipients(batch: Batch[RecipientResolved], delivery: Delivery) -> None:
    await delivery.pipeline.admit(batch)


async def on_bounced(event: Bounced, delivery: Delivery) -> None:
    await handlers.bounced(event, suppressions=delivery.ports.suppressions)


async def on_unsubscribed(event: Unsubscribed, delivery: Delivery) -> None:
    await handlers.unsubscribed(event, suppressions=delivery.ports.suppressions)


def subscriptions(settings: Settings) -> list[Subscription[Delivery]]:
    session = settings.kafka_session_timeout_ms
    liveness = {"session_timeout_ms": session, "heartbeat_interval_ms": session // 3}
    return [
        Subscription(
            topics.RECIPIENT_RESOLVED,
            (CampaignScheduled, RecipientResolved),
            on_recipients,
            "Each campaign's snapshot, then its recipients: one message each to render and "
            "send; committed by the pipeline once the ledger holds each outcome.",
            manual=True,
            max_records=settings.batch_max_records,
            listener=lambda delivery: delivery.pipeline.rebalance(),
            consumer=liveness,
        ),
        Subscription(
            topics.MESSAGE_BOUNCED,
            Bounced,
            on_bounced,
            "Hard bounces: later messages to the address are dropped.",
            consumer=liveness,
        ),
        Subscription(
            topics.UNSUBSCRIBED,
            Unsubscribed,
            on_unsubscribed,
            "Unsubscribes: later messages to the customer are dropped.",
            consumer=liveness,
        ),
    ]
