"""The send step's queues against in-memory ports: breakers, slow-downs, per-destination
limits, refusal storms, deferral in the ledger, and what a crash leaves unknown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from delivery_tests_helpers import World, running_world, state, until

import testkit.events as support
from contracts import Bounced, MessageBlocked
from delivery.bounces import Reply, Stage
from delivery.domain import State
from delivery.shaping import config
from delivery.shaping.breaker import BreakerState


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with running_world() as w:
        yield w


def shaping(**sections: Any) -> config.Shaping:
    data: dict[str, Any] = {
        "breaker": {"failures": 3, "open_seconds": 0.2, "max_open_seconds": 0.4},
        "queue": {"park_after_seconds": 60},
    }
    data.update(sections)
    return config.parse(data)


def recipients(c: Any, domain: str, n: int, prefix: str = "r") -> list[Any]:
    return [support.recipient(c, f"{prefix}{i}@{domain}") for i in range(n)]


def delivered(world: World, domain: str) -> int:
    return sum(1 for m in world.mailer.delivered if m.rcpt.endswith("@" + domain))


async def test_a_relay_outage_pauses_sending_and_spends_no_attempt() -> None:
    async with running_world(shaping=shaping()) as world:
        world.mailer.down = True
        c = support.campaign()
        rs = recipients(c, "x.example", 12)
        await world.admit([c, *rs])
        await until(lambda: world.pipeline.dispatcher.relay.state is not BreakerState.CLOSED)
        await asyncio.sleep(0.5)  # two pauses: each ends with a single probe
        assert world.mailer.refused <= 3 + 3, "a few failures open it, then one probe a pause"
        assert all(r.state is State.SENDING for r in world.ledger.rows.values())
        world.mailer.down = False
        await until(lambda: delivered(world, "x.example") == 12)
        await until(lambda: world.committed() == 13)
    assert {r.state for r in world.ledger.rows.values()} == {State.SENT}
    assert {r.attempts for r in world.ledger.rows.values()} == {1}, "no attempt spent"


async def test_throttling_slows_the_destination_and_spends_no_attempt() -> None:
    policy = shaping(adaptive={"recover_seconds": 0.2, "min_per_minute": 600})
    async with running_world(shaping=policy) as world:
        c = support.campaign()
        rs = recipients(c, "busy.example", 6)
        throttled = Reply(Stage.RCPT, 421, "4.7.0 Try again later, rate limited")
        world.mailer.script = {r.email: [throttled, throttled] for r in rs[:3]}
        await world.admit([c, *rs])
        await until(lambda: delivered(world, "busy.example") == 6)
        await until(lambda: all(state(world, r) == "sent" for r in rs))
    assert {r.attempts for r in world.ledger.rows.values()} == {1}
    grant = await world.shaper.take("busy.example", 1, per_minute=0)
    assert grant.per_minute > 0, "the destination now has a rate"


async def test_a_slow_destination_does_not_stall_a_fast_one() -> None:
    policy = shaping(destinations={"slow": {"domains": ["slow.example"], "connections": 1}})
    async with running_world(shaping=policy, concurrency=3, claim_chunk=8) as world:
        world.mailer.delays["slow.example"] = 0.4
        c = support.campaign()
        slow = recipients(c, "slow.example", 4, "s")
        fast = recipients(c, "fast.example", 40, "f")
        mixed = [r for pair in zip(slow, fast[:4], strict=True) for r in pair] + fast[4:]
        started = time.monotonic()
        await world.admit([c, *mixed])
        await until(lambda: delivered(world, "fast.example") == 40)
        fast_done = time.monotonic() - started
        assert delivered(world, "slow.example") < 4, "the slow one is still at it"
        assert fast_done < 1.0
        await until(lambda: delivered(world, "slow.example") == 4)
    assert world.mailer.peak["slow.example"] == 1


async def test_connections_per_destination_hold_across_processes() -> None:
    policy = shaping(destinations={"few": {"domains": ["few.example"], "connections": 2}})
    async with (
        running_world(shaping=policy, concurrency=4) as first,
        running_world(shaping=policy, concurrency=4, beside=first, owner="b") as second,
    ):
        first.mailer.delays["few.example"] = 0.03
        c = support.campaign()
        rs = recipients(c, "few.example", 40)
        await first.admit([c, *rs[:20]])
        await second.admit([c, *rs[20:]])
        await until(lambda: delivered(first, "few.example") == 40, tick=first.ledger.make_due)
    assert first.mailer.peak["few.example"] == 2


async def test_a_storm_of_identical_refusals_pauses_the_destination() -> None:
    policy = shaping(
        storm={"min_refusals": 5, "ratio": 0.5, "window_seconds": 60},
        breaker={"failures": 3, "open_seconds": 30},
    )
    async with running_world(shaping=policy) as world:
        c = support.campaign()
        refused = recipients(c, "refuses.example", 30)
        fine = recipients(c, "fine.example", 10)
        block = Reply(Stage.RCPT, 550, "5.1.1 <x>: user unknown")  # a misconfigured server
        world.mailer.script = {r.email: [block] * 3 for r in refused}
        await world.admit([c, *refused, *fine])
        await until(lambda: delivered(world, "fine.example") == 10)
        health = world.pipeline.dispatcher.healths.of("refuses.example")
        await until(lambda: health.breaker.state is BreakerState.OPEN)
        bounced = [e for e in world.publisher.events if isinstance(e, Bounced)]
    assert len(bounced) <= 4, "paused instead of registering every customer"
    waiting = [r for r in world.ledger.rows.values() if r.state is State.RETRY]
    assert len(waiting) + len(bounced) == 30, "the others wait, deferred"
    assert {r.attempts for r in waiting} == {0}, "without spending an attempt"


async def test_a_policy_refusal_is_blocked_and_registers_nobody(world: World) -> None:
    c = support.campaign()
    r = support.recipient(c, "block@x.example")
    world.mailer.script = {
        r.email: [Reply(Stage.RCPT, 554, "5.7.1 Message rejected due to policy")]
    }
    await world.admit([c, r])
    await until(lambda: state(world, r) == "blocked")
    await until(lambda: any(isinstance(e, MessageBlocked) for e in world.publisher.events))
    assert not [e for e in world.publisher.events if isinstance(e, Bounced)]
    await world.progress.report_once()
    assert world.publisher.events[-1].blocked == 1  # type: ignore[attr-defined]


async def test_a_destination_far_behind_its_rate_defers_in_the_ledger() -> None:
    policy = shaping(
        destinations={"trickle": {"domains": ["trickle.example"], "per_minute": 60}},
        queue={"park_after_seconds": 1.0},
    )
    async with running_world(shaping=policy, claim_chunk=8) as world:
        c = support.campaign()
        rs = recipients(c, "trickle.example", 30)
        await world.admit([c, *rs])
        await until(lambda: world.committed() == 31)
        deferred = [r for r in world.ledger.rows.values() if r.state is State.RETRY]
        assert len(deferred) >= 20, "not held in memory"
        assert {r.attempts for r in deferred} == {0}
        assert delivered(world, "trickle.example") <= 3, "one a second"
        await world.progress.report_once()
        assert world.publisher.events[-1].deferred == len(deferred)  # type: ignore[attr-defined]


async def test_stopping_returns_what_waits_to_the_ledger_unattempted() -> None:
    policy = shaping(destinations={"slow": {"domains": ["slow.example"], "connections": 1}})
    world = World(shaping=policy, concurrency=1)
    world.mailer.delays["slow.example"] = 0.3
    world.pipeline.start()
    c = support.campaign()
    rs = recipients(c, "slow.example", 6)
    await world.admit([c, *rs])
    await until(lambda: len(world.mailer.sent) >= 1)
    await world.pipeline.stop(grace=2)
    states = {state(world, r) for r in rs}
    assert states <= {"sent", "retry"} and "retry" in states
    assert {r.attempts for r in world.ledger.rows.values() if r.state is State.RETRY} == {0}


async def test_after_a_crash_only_messages_in_data_are_unknown() -> None:
    crashed = World(concurrency=2, claim_chunk=8)
    crashed.mailer.delays["x.example"] = 5.0  # every transaction hangs in DATA
    crashed.pipeline.start()
    c = support.campaign()
    rs = recipients(c, "x.example", 20)
    await crashed.admit([c, *rs])
    await until(lambda: len(crashed.mailer.sent) == 2)
    await asyncio.sleep(0.05)
    await crashed.crash()
    crashed.ledger.dead.add("me")
    await crashed.ledger.sweep_dead_in_flight(0)
    unknown = {m for m, r in crashed.ledger.rows.items() if r.state is State.UNKNOWN}
    assert 1 <= len(unknown) <= 2 * 2, "at most what two senders had marked"
    crashed.mailer.delays.clear()
    async with running_world(concurrency=2, beside=crashed, owner="next") as survivor:
        survivor.ledger.make_due()
        await survivor.admit([c, *rs])  # Kafka redelivers what was never committed
        await until(
            lambda: all(state(survivor, r) in ("sent", "unknown") for r in rs),
            tick=survivor.ledger.make_due,
        )
    accepted = [m.rcpt for m in survivor.mailer.delivered]
    for r in rs:
        # The unknown ones were cut off in DATA (here never accepted) and are not resent.
        assert accepted.count(r.email) == (0 if r.message_id in unknown else 1), r.email
