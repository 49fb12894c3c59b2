"""Kafka subscribers: decode -> handler. Each states its ack policy.

The high-volume streams (opens, clicks, sent messages) are consumed in batches: one Redis
script call and a few set-based statements per batch instead of per event. A batch is decoded
record by record, so one malformed record goes to the dead-letter topic and the rest of its
batch is handled; the offsets are committed only after the handler returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.message import StreamMessage

from contracts import (
    CampaignScheduled,
    Clicked,
    DigestSent,
    Event,
    MalformedEvent,
    MessageSent,
    Opened,
    decode,
    topics,
)
from notifier import handlers
from notifier.domain import Hit, HitKind
from notifier.metrics import HITS
from notifier.ports import HitStore, SuppressionState
from servicekit.kafka import DEFAULT_ACK_POLICY, declare_emits, park
from servicekit.metrics import EVENTS_CONSUMED

E = TypeVar("E", bound=Event)


@dataclass
class Deps:
    hits: HitStore = field(init=False)
    suppression: SuppressionState = field(init=False)
    broker: KafkaBroker = field(init=False)


def to_hit(event: Opened | Clicked) -> Hit:
    return Hit(
        event_id=event.event_id,
        tenant_id=event.tenant_id,
        campaign_id=event.campaign_id,
        message_id=event.message_id,
        customer_id=event.customer_id,
        user_id=event.notify_user_id,
        occurred_at=event.occurred_at,
        is_click=isinstance(event, Clicked),
        machine=event.machine,
        url=event.url if isinstance(event, Clicked) else None,
    )


def batch_decoder(model: type[E], deps: Deps) -> Callable[[StreamMessage[Any]], Awaitable[list[E]]]:
    """Decodes a batch record by record: a malformed one is parked on the dead-letter topic
    and the rest of the batch goes on to the handler."""

    async def decode_batch(msg: StreamMessage[Any]) -> list[E]:
        events: list[E] = []
        for record in msg.raw_message:
            try:
                events.append(decode(record.value or b"", model))
            except MalformedEvent as exc:
                await park(
                    deps.broker,
                    record.topic,
                    record.value,
                    reason=str(exc),
                    partition=record.partition,
                    offset=record.offset,
                )
        EVENTS_CONSUMED.labels(model.__name__).inc(len(events))
        return events

    return decode_batch


def count(new: dict[HitKind, int]) -> None:
    for kind, n in new.items():
        HITS.labels(kind.value).inc(n)


def register(router: KafkaRouter, deps: Deps, *, group_id: str, batch_size: int = 2000) -> None:
    """Each subscriber has its own consumer group (`<group>.<topic>`): a member joining or
    leaving one of them does not stop the others for a rebalance."""
    declare_emits(router, DigestSent)

    @router.subscriber(
        topics.CAMPAIGN_SCHEDULED,
        description="Campaign settings (timings, time zone, subject) and the staff directory.",
        group_id=f"{group_id}.{topics.CAMPAIGN_SCHEDULED}",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
    )
    async def on_campaign_scheduled(event: CampaignScheduled) -> None:
        EVENTS_CONSUMED.labels(event.event_type).inc()
        await handlers.record_campaign(event, store=deps.hits)

    @router.subscriber(
        topics.MESSAGE_SENT,
        description="Message directory: who each message went to (in batches).",
        batch=True,
        max_records=batch_size,
        decoder=batch_decoder(MessageSent, deps),
        group_id=f"{group_id}.{topics.MESSAGE_SENT}",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
    )
    async def on_message_sent(events: list[MessageSent]) -> None:
        await handlers.record_messages(events, store=deps.hits)

    @router.subscriber(
        topics.OPENED,
        description="Opens (in batches): first open, re-open or suppressed re-open.",
        batch=True,
        max_records=batch_size,
        decoder=batch_decoder(Opened, deps),
        group_id=f"{group_id}.{topics.OPENED}",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
    )
    async def on_opened(events: list[Opened]) -> None:
        hits = [to_hit(e) for e in events]
        count(await handlers.ingest_hits(hits, suppression=deps.suppression, store=deps.hits))

    @router.subscriber(
        topics.CLICKED,
        description="Clicks on tracked links (in batches).",
        batch=True,
        max_records=batch_size,
        decoder=batch_decoder(Clicked, deps),
        group_id=f"{group_id}.{topics.CLICKED}",
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
    )
    async def on_clicked(events: list[Clicked]) -> None:
        hits = [to_hit(e) for e in events]
        count(await handlers.ingest_hits(hits, suppression=deps.suppression, store=deps.hits))
