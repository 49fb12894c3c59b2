"""The pipeline against in-memory ports: never twice, holds, retries, offsets, progress."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import delivery_tests_fakes as fakes
import delivery_tests_support as support
import pytest

from contracts import Bounced, MessageSent, encode
from delivery.catalog import CampaignCatalog
from delivery.domain import Reply, RetryPolicy, Stage
from delivery.handlers import audience_resolved, campaign_scheduled
from delivery.pipeline import Pipeline, PipelineConfig
from delivery.progress import ProgressReporter
from delivery.render import RenderConfig
from servicekit.tokens import TokenCodec

TOPIC = "recipient.resolved"


class World:
    def __init__(self, **config: Any) -> None:
        self.ledger = fakes.FakeLedger()
        self.campaigns = fakes.FakeCampaigns(self.ledger)
        self.mailer = fakes.FakeMailer()
        self.publisher = fakes.FakePublisher()
        self.committer = fakes.FakeCommitter()
        self.parker = fakes.FakeParker()
        render = RenderConfig(support.TRACKING, "b.example", TokenCodec.from_secret("1:k"))
        self.catalog = CampaignCatalog(self.campaigns, render)
        self.progress = ProgressReporter(self.campaigns, self.publisher, interval=3600)
        settings: dict[str, Any] = {
            "owner": "me",
            "concurrency": 2,
            "claim_chunk": 4,
            "recheck_seconds": 0.05,
            "retry_poll_seconds": 0.02,
            "commit_interval_seconds": 0.02,
            "policy": RetryPolicy(base_seconds=0.01, max_attempts=3),
        }
        settings.update(config)
        self.pipeline = Pipeline(
            PipelineConfig(**settings),
            ledger=self.ledger,
            catalog=self.catalog,
            mailer=self.mailer,
            publisher=self.publisher,
            committer=self.committer,
            park=self.parker,
            on_touched=self.progress.touch,
        )
        self._offsets: dict[int, int] = {}

    def records(self, events: list[Any], partition: int = 0) -> list[fakes.Record]:
        out = []
        for e in events:
            offset = self._offsets.get(partition, 0)
            self._offsets[partition] = offset + 1
            out.append(fakes.Record(TOPIC, partition, offset, encode(e)))
        return out

    async def schedule(self, c: Any) -> None:
        await campaign_scheduled(c, campaigns=self.campaigns, catalog=self.catalog)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World()
    w.pipeline.start()
    yield w
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


async def test_each_recipient_is_sent_once_and_offsets_follow(world: World) -> None:
    c = support.campaign()
    await world.schedule(c)
    rs = [support.recipient(c, f"u{i}@x.example") for i in range(10)]
    await world.pipeline.admit(world.records(rs))
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 10)
    assert len(world.mailer.sent) == 10
    assert sorted(e.email for e in world.publisher.events if isinstance(e, MessageSent)) == sorted(
        r.email for r in rs
    )


async def test_redelivered_messages_are_not_sent_again_but_their_events_are(
    world: World,
) -> None:
    c = support.campaign()
    await world.schedule(c)
    rs = [support.recipient(c, f"u{i}@x.example") for i in range(3)]
    await world.pipeline.admit(world.records(rs))
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 3)
    first = [e.event_id for e in world.publisher.events]
    await world.pipeline.admit(world.records([*rs, rs[0]]))  # a replay, duplicate included
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 7)
    assert len(world.mailer.sent) == 3
    replayed = [e.event_id for e in world.publisher.events[3:]]
    assert set(replayed) == set(first), "same event ids: consumers drop the duplicates"


async def test_unknown_campaign_is_held_uncommitted_until_it_arrives(world: World) -> None:
    c = support.campaign()
    r = support.recipient(c, "early@x.example")
    await world.pipeline.admit(world.records([r]))
    await asyncio.sleep(0.2)
    assert world.mailer.sent == []
    assert world.committer.offsets.get((TOPIC, 0), 0) == 0
    await world.schedule(c)
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 1)
    assert world.mailer.count("early@x.example") == 1


async def test_campaign_stored_by_another_process_is_found_on_recheck(world: World) -> None:
    c = support.campaign()
    await world.pipeline.admit(world.records([support.recipient(c, "a@x.example")]))
    await asyncio.sleep(0.1)
    world.campaigns.snapshots[c.campaign_id] = encode(c)  # no local announcement
    await until(lambda: world.mailer.count("a@x.example") == 1)


async def test_hard_bounce_and_deferral_then_acceptance(world: World) -> None:
    c = support.campaign()
    await world.schedule(c)
    hard = support.recipient(c, "bounce@x.example")
    later = support.recipient(c, "defer@x.example")
    world.mailer.script = {
        hard.email: [Reply(Stage.RCPT, 550, "5.1.1 <bounce@x.example>: user unknown")],
        later.email: [Reply(Stage.RCPT, 451, "4.7.1 try again"), Reply(Stage.RCPT, 451, "4.7.1")],
    }
    await world.pipeline.admit(world.records([hard, later]))
    # Offsets move as soon as the deferral is recorded as a retry; the retry is the ledger's.
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 2)
    assert state(world, later) == "retry"
    await until(lambda: state(world, later) == "sent", tick=world.ledger.make_due)
    assert world.mailer.count(later.email) == 3
    (bounce,) = [e for e in world.publisher.events if isinstance(e, Bounced)]
    assert (bounce.kind, bounce.smtp_code, bounce.enhanced_status) == ("hard", 550, "5.1.1")
    assert [type(e).__name__ for e in world.ledger.outbox] == ["MessageSent"]


async def test_deferred_until_attempts_run_out_becomes_a_soft_bounce(world: World) -> None:
    c = support.campaign()
    await world.schedule(c)
    r = support.recipient(c, "defer-forever@x.example")
    world.mailer.script = {r.email: [Reply(Stage.RCPT, 451, "4.7.1 later")] * 5}
    await world.pipeline.admit(world.records([r]))
    await until(lambda: state(world, r) == "soft_bounced", tick=world.ledger.make_due)
    assert world.mailer.count(r.email) == 3
    (soft,) = world.ledger.outbox
    assert isinstance(soft, Bounced) and soft.kind == "soft"


async def test_lost_reply_after_the_whole_message_is_unknown_never_retried(world: World) -> None:
    c = support.campaign()
    await world.schedule(c)
    r = support.recipient(c, "lost@x.example")
    world.mailer.script = {r.email: [Reply(Stage.END, None, "connection lost")]}
    await world.pipeline.admit(world.records([r]))
    await until(lambda: state(world, r) == "unknown")
    world.ledger.make_due()
    await asyncio.sleep(0.1)
    assert world.mailer.count(r.email) == 1


async def test_undecodable_record_is_parked_and_skipped(world: World) -> None:
    c = support.campaign()
    await world.schedule(c)
    records = world.records([support.recipient(c, "ok@x.example")])
    bad = fakes.Record(TOPIC, 0, 1, b'{"event_type": "RecipientResolved"}')
    await world.pipeline.admit([*records, bad])
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 2)
    assert world.parker.parked == [(TOPIC, 0, 1)]


async def test_suppressed_after_resolution_is_not_sent(world: World) -> None:
    c = support.campaign()
    await world.schedule(c)
    r = support.recipient(c, "gone@x.example")
    world.ledger.suppressed_customers.add(r.customer_id)
    await world.pipeline.admit(world.records([r]))
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 1)
    assert world.mailer.sent == []
    assert world.ledger.states() == {"suppressed": 1}


async def test_completion_is_announced_once(world: World) -> None:
    c = support.campaign()
    await world.schedule(c)
    rs = [support.recipient(c, f"c{i}@x.example") for i in range(3)]
    await audience_resolved(
        support.audience(c, 3), campaigns=world.campaigns, progress=world.progress
    )
    await world.pipeline.admit(world.records(rs))
    await until(lambda: world.committer.offsets.get((TOPIC, 0)) == 3)
    await world.progress.report_once(full=True)
    await world.progress.report_once(full=True)
    (final,) = world.campaigns.completed
    assert (final.completed, final.total, final.sent) == (True, 3, 3)  # type: ignore[attr-defined]


async def test_revoked_partition_stops_counting_for_commits(world: World) -> None:
    c = support.campaign()
    held = support.recipient(c, "held@x.example")
    await world.pipeline.admit(world.records([held], partition=3))
    await asyncio.sleep(0.1)
    world.pipeline.revoke({(TOPIC, 3)})
    await world.schedule(c)
    await asyncio.sleep(0.2)
    assert world.mailer.sent == [], "the new owner of the partition sends it"
