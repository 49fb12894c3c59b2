"""What the notifier consumes. The high-volume streams (opens, clicks, sent messages) come
in batches: one Redis script call and a few set-based statements per batch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts import CampaignScheduled, Clicked, DigestSent, MessageSent, Opened, topics
from notifier import handlers
from notifier.domain import Hit, HitKind
from notifier.metrics import HITS
from notifier.settings import Settings
from notifier.wire import ClickedFields, OpenedFields, read_clicked, read_opened
from servicekit.kafka import Subscription

if TYPE_CHECKING:
    from notifier.bootstrap import Ports

#: What the notifier publishes (through its outbox).
EMITS = (DigestSent,)


def to_hit(event: OpenedFields) -> Hit:
    url = event.url if isinstance(event, ClickedFields) else None
    return Hit(
        event_id=event.event_id,
        tenant_id=event.tenant_id,
        campaign_id=event.campaign_id,
        message_id=event.message_id,
        customer_id=event.customer_id,
        user_id=event.notify_user_id,
        occurred_at=event.occurred_at,
        is_click=url is not None,
        machine=event.machine,
        url=url,
    )


async def on_campaign_scheduled(event: CampaignScheduled, ports: Ports) -> None:
    """Hits may come before their campaign (other topics, other consumers): those waiting
    get their periods as soon as it is known, not at the next closing."""
    await handlers.record_campaign(event, store=ports.hits)
    await handlers.schedule_awaiting(store=ports.hits)


async def on_messages_sent(events: list[MessageSent], ports: Ports) -> None:
    await handlers.record_messages(events, store=ports.hits)


async def on_hits(events: list[OpenedFields], ports: Ports) -> None:
    hits = [to_hit(e) for e in events]
    new = await handlers.ingest_hits(hits, suppression=ports.suppression, store=ports.hits)
    count(new)


def count(new: dict[HitKind, int]) -> None:
    for kind, n in new.items():
        HITS.labels(kind.value).inc(n)


def subscriptions(settings: Settings) -> list[Subscription[Ports]]:
    size = settings.ingest_batch_size
    return [
        Subscription(
            topics.CAMPAIGN_SCHEDULED,
            CampaignScheduled,
            on_campaign_scheduled,
            "Campaign settings (timings, time zone, subject) and the staff directory.",
        ),
        Subscription(
            topics.MESSAGE_SENT,
            MessageSent,
            on_messages_sent,
            "Message directory: who each message went to (in batches).",
            batch=True,
            max_records=size,
        ),
        Subscription(
            topics.OPENED,
            Opened,
            on_hits,
            "Opens (in batches): first open, re-open or suppressed re-open.",
            batch=True,
            max_records=size,
            decoder=read_opened,
        ),
        Subscription(
            topics.CLICKED,
            Clicked,
            on_hits,
            "Clicks on tracked links (in batches).",
            batch=True,
            max_records=size,
            decoder=read_clicked,
        ),
    ]
