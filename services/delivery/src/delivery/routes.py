"""Kafka subscribers: decode -> handler (or pipeline) -> publish. Each states its ack policy.

recipient.resolved is a batch subscriber with AckPolicy.MANUAL: FastStream never commits
for it. The callback only hands the batch to the pipeline (waiting while it is full), and
the pipeline commits each partition up to the first record whose ledger row is not yet
final or scheduled for retry (see pipeline.py). The other subscribers handle one small
event each and commit after the handler returned (DEFAULT_ACK_POLICY).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from contracts import AudienceResolved, Bounced, CampaignScheduled, Unsubscribed, topics
from delivery import handlers
from delivery.adapters.kafka import PipelineRebalance
from delivery.catalog import CampaignCatalog
from delivery.pipeline import Pipeline
from delivery.ports import Campaigns, Suppressions
from delivery.progress import ProgressReporter
from delivery.settings import Settings
from servicekit.kafka import DEFAULT_ACK_POLICY
from servicekit.metrics import EVENTS_CONSUMED


@dataclass
class Deps:
    """Filled in by the lifespan once pools and clients exist."""

    campaigns: Campaigns = field(init=False)
    suppressions: Suppressions = field(init=False)
    catalog: CampaignCatalog = field(init=False)
    progress: ProgressReporter = field(init=False)
    pipeline: Pipeline | None = None


def register(router: KafkaRouter, deps: Deps, settings: Settings) -> Any:
    """Declare the subscribers; returns the recipient.resolved subscriber (its consumer
    is the one offsets are committed through)."""
    group = settings.kafka_namespace + settings.consumer_group
    session = settings.kafka_session_timeout_ms
    heartbeat = session // 3

    recipients = router.subscriber(
        topics.RECIPIENT_RESOLVED,
        group_id=group,
        batch=True,
        max_records=settings.batch_max_records,
        batch_timeout_ms=50,
        ack_policy=AckPolicy.MANUAL,
        listener=PipelineRebalance(lambda: deps.pipeline),
        title="recipient.resolved:RecipientResolved",
        description="RecipientResolved, one message each to render and send; read in "
        "batches, committed by the pipeline once the ledger holds each outcome.",
        auto_offset_reset="earliest",
        session_timeout_ms=session,
        heartbeat_interval_ms=heartbeat,
    )

    @recipients
    async def on_recipients(msg: KafkaMessage) -> None:
        assert deps.pipeline is not None
        await deps.pipeline.admit(msg.raw_message)

    @router.subscriber(
        topics.CAMPAIGN_SCHEDULED,
        group_id=group + ".campaigns",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Keeps the campaign template and settings; compiled once per process.",
        auto_offset_reset="earliest",
        session_timeout_ms=session,
        heartbeat_interval_ms=heartbeat,
    )
    async def on_campaign_scheduled(event: CampaignScheduled) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await handlers.campaign_scheduled(event, campaigns=deps.campaigns, catalog=deps.catalog)

    @router.subscriber(
        topics.AUDIENCE_RESOLVED,
        group_id=group + ".audience",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Audience size: a campaign completes when that many messages are final.",
        auto_offset_reset="earliest",
        session_timeout_ms=session,
        heartbeat_interval_ms=heartbeat,
    )
    async def on_audience_resolved(event: AudienceResolved) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await handlers.audience_resolved(event, campaigns=deps.campaigns, progress=deps.progress)

    @router.subscriber(
        topics.MESSAGE_BOUNCED,
        group_id=group + ".bounces",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Hard bounces: later messages to the address are dropped.",
        auto_offset_reset="earliest",
        session_timeout_ms=session,
        heartbeat_interval_ms=heartbeat,
    )
    async def on_bounced(event: Bounced) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await handlers.bounced(event, suppressions=deps.suppressions)

    @router.subscriber(
        topics.UNSUBSCRIBED,
        group_id=group + ".unsubscribes",
        ack_policy=DEFAULT_ACK_POLICY,
        description="Unsubscribes: later messages to the customer are dropped.",
        auto_offset_reset="earliest",
        session_timeout_ms=session,
        heartbeat_interval_ms=heartbeat,
    )
    async def on_unsubscribed(event: Unsubscribed) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await handlers.unsubscribed(event, suppressions=deps.suppressions)

    return recipients
