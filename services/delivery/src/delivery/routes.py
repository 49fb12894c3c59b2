"""What delivery consumes. The recipient stream (each campaign's snapshot ahead of its
recipients on every partition) goes to the pipeline, which commits for itself once the
ledger holds each outcome; suppressions learnt after resolution are kept so that later
messages to those customers are dropped; reports about sent messages and operators'
decisions about unknown ones change the ledger (reports.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts import (
    Bounced,
    CampaignScheduled,
    Complained,
    DeliveryProgress,
    MessageBlocked,
    MessageSent,
    RecipientResolved,
    ReportReceived,
    UnknownResolution,
    Unsubscribed,
    topics,
)
from delivery import handlers, reports
from delivery.settings import Settings
from servicekit.kafka import Batch, Subscription

if TYPE_CHECKING:
    from delivery.main import Delivery

EMITS = (MessageSent, Bounced, MessageBlocked, Complained, DeliveryProgress)


async def on_recipients(batch: Batch[RecipientResolved], delivery: Delivery) -> None:
    await delivery.pipeline.admit(batch)


async def on_bounced(event: Bounced, delivery: Delivery) -> None:
    await handlers.bounced(event, suppressions=delivery.ports.suppressions)


async def on_unsubscribed(event: Unsubscribed, delivery: Delivery) -> None:
    await handlers.unsubscribed(event, suppressions=delivery.ports.suppressions)


async def on_report(event: ReportReceived, delivery: Delivery) -> None:
    ports = delivery.ports
    await reports.report_received(event, reports=ports.reports, suppressions=ports.suppressions)


async def on_unknown_resolution(event: UnknownResolution, delivery: Delivery) -> None:
    await reports.unknown_resolved(event, reports=delivery.ports.reports)


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
        Subscription(
            topics.REPORT_RECEIVED,
            ReportReceived,
            on_report,
            "DSNs and complaints at a message's return path: only the address the message "
            "went to counts; its ledger row becomes bounced, blocked or complained, once.",
            consumer=liveness,
        ),
        Subscription(
            topics.UNKNOWN_RESOLUTION,
            UnknownResolution,
            on_unknown_resolution,
            "An operator's decision about a campaign's unknown messages: resend or give up.",
            consumer=liveness,
        ),
    ]
