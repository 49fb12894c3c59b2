"""The pipeline against in-memory ports: never twice, retries, offsets, progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from delivery_tests_helpers import TOPIC, World, campaign_and, running_world, state, until

import testkit.events as support
from contracts import Bounced, DeliveryProgress, MessageSent, encode
from delivery.bounces import Reply, Stage


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with running_world() as w:
        yield w


async def test_each_recipient_is_sent_once_and_offsets_follow(world: World) -> None:
    c, rs = campaign_and(10)
    await world.admit([c, *rs])
    await until(lambda: world.committed() == 11)
    assert len(world.mailer.sent) == 10
    assert sorted(e.email for e in world.publisher.events if isinstance(e, MessageSent)) == sorted(
        r.email for r in rs
    )
    assert c.campaign_id in world.campaigns.snapshots, "kept for other processes and restarts"


async def test_redelivered_messages_are_not_sent_again_but_their_events_are(
    world: World,
) -> None:
    c, rs = campaign_and(3)
    await world.admit([c, *rs])
    await until(lambda: world.committed() == 4)
    first = [e.event_id for e in world.publisher.events]
    await world.admit([c, *rs, rs[0]])  # a replay, the snapshot and a duplicate included
    await until(lambda: world.committed() == 9)
    assert len(world.mailer.sent) == 3
    replayed = [e.event_id for e in world.publisher.events[3:]]
    assert set(replayed) == set(first), "same event ids: consumers drop the duplicates"


async def test_a_snapshot_another_process_stored_serves_a_restart(world: World) -> None:
    """After a restart the consumer resumes past the snapshot: the stored copy is used."""
    c, (r,) = campaign_and(1)
    await world.campaigns.store([(c.campaign_id, c.tenant_id, encode(c))])
    await world.admit([r])
    await until(lambda: world.mailer.count(r.email) == 1)


async def test_a_recipient_whose_campaign_is_nowhere_waits_uncommitted(world: World) -> None:
    c, (r,) = campaign_and(1)
    await world.admit([r])
    await asyncio.sleep(0.2)
    assert world.mailer.sent == [] and state(world, r) is None, "neither sent nor failed"
    assert world.committed() == 0
    await world.campaigns.store([(c.campaign_id, c.tenant_id, encode(c))])
    await until(lambda: world.mailer.count(r.email) == 1)
    await until(lambda: world.committed() == 1)


async def test_a_redelivered_copy_during_a_slow_ledger_write_is_not_sent_again(
    world: World,
) -> None:
    c, (r,) = campaign_and(1)
    world.ledger.hold_next_finish()  # the write of the outcome is slow
    await world.admit([c, r])
    await until(lambda: world.mailer.count(r.email) == 1)
    await asyncio.sleep(0.05)  # the recorder is inside `finish` now
    await world.admit([r])  # Kafka redelivers the same RecipientResolved meanwhile
    await asyncio.sleep(0.2)
    world.ledger.release_finish()
    await until(lambda: world.committed() == 3, tick=world.ledger.make_due)
    await asyncio.sleep(0.2)
    world.ledger.make_due()
    await asyncio.sleep(0.2)
    assert world.mailer.count(r.email) == 1, "one SMTP transaction, not two"
    assert state(world, r) == "sent"


async def test_hard_bounce_and_deferral_then_acceptance(world: World) -> None:
    c = support.campaign()
    hard = support.recipient(c, "bounce@x.example")
    later = support.recipient(c, "defer@x.example")
    world.mailer.script = {
        hard.email: [Reply(Stage.RCPT, 550, "5.1.1 <bounce@x.example>: user unknown")],
        later.email: [Reply(Stage.RCPT, 451, "4.7.1 try again"), Reply(Stage.RCPT, 451, "4.7.1")],
    }
    await world.admit([c, hard, later])
    # Offsets move as soon as the deferral is recorded as a retry; the retry is the ledger's.
    await until(lambda: world.committed() == 3)
    assert state(world, later) == "retry"
    await until(lambda: state(world, later) == "sent", tick=world.ledger.make_due)
    assert world.mailer.count(later.email) == 3
    (bounce,) = [e for e in world.publisher.events if isinstance(e, Bounced)]
    assert (bounce.kind, bounce.smtp_code, bounce.enhanced_status) == ("hard", 550, "5.1.1")
    assert [type(e).__name__ for e in world.ledger.outbox] == ["MessageSent"]


async def test_deferred_until_the_horizon_becomes_a_soft_bounce(world: World) -> None:
    c = support.campaign()
    r = support.recipient(c, "defer-forever@x.example")
    world.mailer.script = {r.email: [Reply(Stage.RCPT, 451, "4.7.1 later")] * 1000}
    await world.admit([c, r])
    await until(lambda: state(world, r) == "soft_bounced", tick=world.ledger.make_due)
    assert world.mailer.count(r.email) > 3, "retried as long as the horizon allows"
    (soft,) = world.ledger.outbox
    assert isinstance(soft, Bounced) and soft.kind == "soft"


async def test_lost_reply_after_the_whole_message_is_unknown_never_retried(world: World) -> None:
    c = support.campaign()
    r = support.recipient(c, "lost@x.example")
    world.mailer.script = {r.email: [Reply(Stage.END, None, "connection lost")]}
    await world.admit([c, r])
    await until(lambda: state(world, r) == "unknown")
    world.ledger.make_due()
    await asyncio.sleep(0.1)
    assert world.mailer.count(r.email) == 1


async def test_parked_records_do_not_hold_the_commit_point_back(world: World) -> None:
    c, (r,) = campaign_and(1)
    await world.admit([c, r], gap=2)  # two undecodable records came after them
    await until(lambda: world.committed() == 4)


async def test_suppressed_after_resolution_is_not_sent(world: World) -> None:
    c, (r,) = campaign_and(1)
    world.ledger.suppressed_customers.add(r.customer_id)
    await world.admit([c, r])
    await until(lambda: world.committed() == 2)
    assert world.mailer.sent == []
    assert world.ledger.states() == {"suppressed": 1}


async def test_progress_reports_every_change_once_with_its_sequence(world: World) -> None:
    c, rs = campaign_and(3)
    await world.admit([c, *rs])
    await until(lambda: world.committed() == 4)
    await world.progress.report_once()
    await world.progress.report_once()  # nothing changed since: nothing new
    reports = [e for e in world.publisher.events if isinstance(e, DeliveryProgress)]
    assert reports, "the changes were reported"
    last = reports[-1]
    assert (last.sent, last.sequence) == (3, world.ledger.sequence[c.campaign_id])
    assert len({e.event_id for e in reports}) == len(reports)
    assert [e.sequence for e in reports] == sorted(e.sequence for e in reports)


async def test_revoked_partition_stops_counting_for_commits(world: World) -> None:
    c, (held,) = campaign_and(1)
    await world.admit([held], partition=3)  # its campaign is nowhere yet: it waits
    await asyncio.sleep(0.1)
    await world.pipeline.rebalance().on_partitions_revoked(set())
    world.pipeline._forget({(TOPIC, 3)})
    await world.campaigns.store([(c.campaign_id, c.tenant_id, encode(c))])
    await asyncio.sleep(0.2)
    assert world.mailer.sent == [], "the new owner of the partition sends it"
