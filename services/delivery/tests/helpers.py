"""The unit tests' world: a pipeline over in-memory ports, and what they wait with."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import delivery_tests_fakes as fakes

import testkit.events as support
from contracts import CampaignScheduled, Event, encode
from delivery.adapters.mx import RelayRouter
from delivery.catalog import CampaignCatalog
from delivery.domain import RetryPolicy
from delivery.pipeline import Pipeline, PipelineConfig
from delivery.ports import Route
from delivery.progress import ProgressReporter
from delivery.shaping.config import Shaping
from delivery.shaping.local import LocalShaper
from mailkit.render import RenderConfig
from servicekit.kafka import Batch, Received
from servicekit.tokens import TokenCodec

TOPIC = "recipient.resolved"


class World:
    """A pipeline over in-memory ports; another World may share its ledger, campaigns and
    mailer (a second process of the same deployment)."""

    def __init__(
        self, *, shaping: Shaping | None = None, beside: World | None = None, **config: Any
    ) -> None:
        self.ledger = beside.ledger if beside else fakes.FakeLedger()
        self.campaigns = beside.campaigns if beside else fakes.FakeCampaigns(self.ledger)
        self.mailer = beside.mailer if beside else fakes.FakeMailer()
        self.publisher = fakes.FakePublisher()
        self.consumer = fakes.FakeConsumer()
        render = RenderConfig(
            support.TRACKING, "b.example", TokenCodec.from_secret(support.TOKEN_SECRET)
        )
        self.catalog = CampaignCatalog(self.campaigns, render)
        self.progress = ProgressReporter(self.campaigns, self.publisher)
        settings: dict[str, Any] = {
            "owner": "me",
            "concurrency": 2,
            "claim_chunk": 4,
            "recheck_seconds": 0.05,
            "retry_poll_seconds": 0.02,
            "commit_interval_seconds": 0.02,
            "policy": RetryPolicy(base_seconds=0.01, horizon_seconds=0.5),
            "shaping": shaping or Shaping(),
        }
        settings.update(config)
        self.shaper = beside.shaper if beside else LocalShaper(settings["shaping"].adaptive)
        self.pipeline = Pipeline(
            PipelineConfig(**settings),
            ledger=self.ledger,
            campaigns=self.campaigns,
            catalog=self.catalog,
            mailer=self.mailer,
            publisher=self.publisher,
            shaper=self.shaper,
            router=RelayRouter(Route("relay", ("relay.test",), 25)),
        )
        self._offsets: dict[int, int] = {}

    def batch(self, events: list[Event], partition: int = 0, *, gap: int = 0) -> Batch[Any]:
        """The records of `events`, as the subscription hands them over; `gap` records
        after them were parked (undecodable)."""
        received = []
        for event in events:
            offset = self._offsets.get(partition, 0)
            self._offsets[partition] = offset + 1
            received.append(Received(event, TOPIC, partition, offset, encode(event)))
        self._offsets[partition] = self._offsets.get(partition, 0) + gap
        return Batch(received, {(TOPIC, partition): self._offsets[partition]}, self.consumer)

    async def admit(self, events: list[Event], partition: int = 0, *, gap: int = 0) -> None:
        await self.pipeline.admit(self.batch(events, partition, gap=gap))

    def committed(self, partition: int = 0) -> int:
        return self.consumer.offsets.get((TOPIC, partition), 0)

    async def crash(self) -> None:
        """What kill -9 leaves: every task gone at once, nothing drained or recorded."""
        tasks = self.pipeline._tasks
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.pipeline._tasks = []


@asynccontextmanager
async def running_world(**config: Any) -> AsyncIterator[World]:
    w = World(**config)
    w.pipeline.start()
    try:
        yield w
    finally:
        await w.pipeline.stop(grace=1)


def state(world: World, r: Any) -> str | None:
    row = world.ledger.rows.get(r.message_id)
    return row.state.value if row else None


async def until(
    check: Callable[[], bool], timeout: float = 5, tick: Callable[[], None] | None = None
) -> None:
    """Wait for `check`; `tick` runs between looks (e.g. making retries due at once)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met"
        if tick is not None:
            tick()
        await asyncio.sleep(0.01)


def campaign_and(count: int, prefix: str = "u") -> tuple[CampaignScheduled, list[Any]]:
    c = support.campaign()
    return c, [support.recipient(c, f"{prefix}{i}@x.example") for i in range(count)]
