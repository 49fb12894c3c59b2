"""The recipient stream: RecipientResolved records, encoded elsewhere, into Kafka record
batches through the platform's batch sender; and the campaign's snapshot onto every
partition ahead of its first recipient, so that whoever reads a partition meets the
campaign before its recipients (Kafka orders records within a partition only)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from contracts import CampaignScheduled, RecipientResolved, topics
from servicekit.kafka import BatchSender, Record, event_headers, event_record

_HEADERS = event_headers(RecipientResolved.model_fields["event_type"].default)


class KafkaRecipientStream:
    def __init__(self, sender: BatchSender) -> None:
        self._sender = sender

    async def announce(self, campaign: CampaignScheduled) -> None:
        partitions = await self._sender.partitions(topics.RECIPIENT_RESOLVED)
        await self._sender.send_and_wait(
            [
                event_record(campaign, partition=p, topic=topics.RECIPIENT_RESOLVED)
                for p in partitions
            ]
        )

    async def enqueue(self, records: Iterable[tuple[bytes, bytes]]) -> Awaitable[object]:
        acknowledged: asyncio.Future[Any] = await self._sender.send(
            Record(topics.RECIPIENT_RESOLVED, key, value, _HEADERS) for key, value in records
        )
        return acknowledged
