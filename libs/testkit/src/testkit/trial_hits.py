"""Tracking hits during a chaos trial: opens and clicks of the campaign's caught mail made
while the stack is disrupted (`Hitter`), and what of them reached Kafka (`HitTail`).
A hit that was answered (pixel 200, click 302) is acknowledged: its event must be there."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import Clicked, Opened, decode, topics
from servicekit.tokens import InvalidToken, Kind, TokenCodec
from testkit import platform, sink
from testkit.platform import Endpoints


@dataclass
class Hit:
    kind: Kind
    message_id: UUID
    notify_user_id: UUID
    status: str  # the HTTP status, or what went wrong instead
    at: float  # monotonic time of the answer


class HitTail:
    """Opened and Clicked from the end of their topics as the trial began."""

    def __init__(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], enable_auto_commit=False
        )
        self.seen: Counter[tuple[Kind, UUID]] = Counter()

    async def start(self) -> None:
        await self._consumer.start()
        parts = [
            TopicPartition(t.name, p)
            for t in topics.TOPICS
            if t.name in (topics.OPENED, topics.CLICKED)
            for p in range(t.partitions)
        ]
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        for part in parts:
            await self._consumer.position(part)

    async def read_until(self, done: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        while not done() and time.monotonic() < deadline:
            for records in (await self._consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.topic == topics.OPENED:
                        self.seen[(Kind.OPEN, decode(record.value, Opened).message_id)] += 1
                    else:
                        self.seen[(Kind.CLICK, decode(record.value, Clicked).message_id)] += 1

    async def stop(self) -> None:
        await self._consumer.stop()


class Hitter:
    """Opens and clicks links of the campaign's caught mail, a few a second, on any tracking
    instance (round-robin, like a load balancer), until told to stop."""

    def __init__(
        self, campaign_id: str, high_water: int, endpoints: Endpoints, codec: TokenCodec, count: int
    ) -> None:
        self._campaign_id, self._high_water = campaign_id, high_water
        self._endpoints, self._codec = endpoints, codec
        self._mails = max(1, count // 3)  # each: an open, a click, a re-open
        self.hits: list[Hit] = []

    async def run(self) -> None:
        links = await self._links()
        plan = (  # first opens, then clicks, then re-opens (within the hour: not notified)
            [(pixel, Kind.OPEN) for pixel, _ in links]
            + [(click, Kind.CLICK) for _, click in links]
            + [(pixel, Kind.OPEN) for pixel, _ in links]
        )
        for url, kind in plan:
            await self._hit(url, kind)
            await asyncio.sleep(0.3)

    async def _links(self) -> list[tuple[str, str]]:
        """(pixel, click) URLs of the first few caught mails of the campaign."""
        after, found = self._high_water, list[tuple[str, str]]()
        deadline = time.monotonic() + 120
        while len(found) < self._mails and time.monotonic() < deadline:
            batch = await sink.sink_list(after=after, limit=200)
            for summary in batch:
                if summary["headers"].get("X-Campaign-ID") != self._campaign_id:
                    continue
                mail = sink.Caught(summary, await sink.sink_raw(summary["id"]))
                pixel, clicks = mail.pixel_url(), mail.click_urls()
                if pixel and clicks and len(found) < self._mails:
                    found.append((pixel, clicks[0]))
            after = batch[-1]["id"] if batch else after
            if not batch:
                await asyncio.sleep(0.2)
        return found

    async def _hit(self, url: str, kind: Kind) -> None:
        path = urlsplit(url).path
        try:
            claims = self._codec.verify(path.rsplit("/", 1)[1], kind)
        except InvalidToken:
            return
        try:
            response = await platform.request(
                self._endpoints.tracking, "GET", path, headers=sink.MAIL_CLIENT, seconds=30
            )
            status = str(response.status_code)
        except Exception as exc:  # a hit that got no answer is simply not acknowledged
            status = type(exc).__name__
        self.hits.append(
            Hit(kind, claims.message_id, claims.notify_user_id, status, time.monotonic())
        )


def acknowledged(hit: Hit) -> bool:
    return hit.status == ("200" if hit.kind is Kind.OPEN else "302")
