"""The shaping policy file, the shaping state's rules (slots, buckets, slow-down and
recovery), breakers and refusal storms."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
from delivery_tests_fakes import FakeClock

from delivery.pipeline.items import Job
from delivery.pipeline.lanes import Lane
from delivery.shaping import config
from delivery.shaping.breaker import Breaker, BreakerState, StormDetector
from delivery.shaping.config import Adaptive, BreakerPolicy, ShapingError, StormPolicy
from delivery.shaping.local import LocalShaper


def test_the_bundled_file_groups_the_providers() -> None:
    shaping = config.load()
    assert shaping.destination("GMail.com") == shaping.destination("googlemail.com") == "google"
    microsoft = {shaping.destination(d) for d in ("outlook.com", "hotmail.com", "live.com")}
    assert microsoft == {"microsoft"}
    assert shaping.destination("yahoo.co.jp") != shaping.destination("yahoo.com")
    assert shaping.destination("au.com") == shaping.destination("ezweb.ne.jp")
    assert shaping.destination("i.softbank.jp") == shaping.destination("softbank.ne.jp")
    assert shaping.destination("example.org") == "example.org"
    google = shaping.limits(uuid.uuid4(), "google")
    assert google.per_minute > 0 and google.connections > 0 and google.scope == "google"
    unknown = shaping.limits(uuid.uuid4(), "example.org")
    assert (unknown.connections, unknown.per_minute) == (20, 0)


def test_a_tenant_override_is_its_own_budget_and_inherits_what_it_leaves_out() -> None:
    tenant = uuid.uuid4()
    shaping = config.parse(
        {
            "default": {"connections": 7},
            "destinations": {"google": {"domains": ["gmail.com"], "per_minute": 600}},
            "tenants": {str(tenant): {"google": {"per_minute": 60}, "default": {"connections": 2}}},
            "breaker": {"open_seconds": 0.5},
        }
    )
    mine = shaping.limits(tenant, "google")
    assert (mine.connections, mine.per_minute) == (7, 60)
    assert mine.scope != shaping.limits(uuid.uuid4(), "google").scope
    assert shaping.limits(tenant, "other.example").connections == 2
    assert shaping.breaker.open_seconds == 0.5


@pytest.mark.parametrize(
    "data",
    [
        {"destinations": {"a": {"domains": ["x.com"]}, "b": {"domains": ["x.com"]}}},
        {"default": {"connections": 0}},
        {"default": {"per_minute": -1}},
        {"default": {"speed": 3}},
        {"breaker": {"failures": "many"}},
        {"tenants": {"not-a-uuid": {}}},
    ],
)
def test_an_invalid_policy_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ShapingError):
        config.parse(data)


async def test_slots_are_limited_and_a_dead_holders_lapse() -> None:
    clock = FakeClock()
    shaper = LocalShaper(Adaptive(), slot_ttl=30, clock=clock)
    assert await shaper.acquire("d", "a", 2)
    assert await shaper.acquire("d", "a", 2), "a holder keeps its slot"
    assert await shaper.acquire("d", "b", 2)
    assert not await shaper.acquire("d", "c", 2)
    await shaper.release("d", "b")
    assert await shaper.acquire("d", "c", 2)
    clock.now += 31  # a and c stopped renewing
    assert await shaper.acquire("d", "e", 2) and await shaper.acquire("d", "f", 2)


async def test_the_bucket_holds_the_rate() -> None:
    clock = FakeClock()
    shaper = LocalShaper(Adaptive(), clock=clock)
    first = await shaper.take("d", 100, per_minute=600)  # 10 per second, a second's burst
    assert first.granted == 10
    empty = await shaper.take("d", 1, per_minute=600)
    assert empty.granted == 0 and 0 < empty.wait <= 0.1
    clock.now += 0.5
    assert (await shaper.take("d", 100, per_minute=600)).granted == 5
    assert (await shaper.take("u", 500, per_minute=0)).granted == 500, "no limit"


async def test_a_slow_down_halves_what_was_sent_then_recovers_linearly() -> None:
    clock = FakeClock()
    adaptive = Adaptive(decrease=0.5, hold_seconds=1, recover_seconds=10, min_per_minute=6)
    shaper = LocalShaper(adaptive, clock=clock)
    for _ in range(10):
        await shaper.take("d", 20, per_minute=0)  # 200 in this second, no limit
        clock.now += 0.1
    slowed = await shaper.slow_down("d", per_minute=0, observed=0)
    assert 40 * 60 <= slowed <= 110 * 60, "about half the measured rate"
    again = await shaper.slow_down("d", per_minute=0, observed=0)
    assert again == pytest.approx(slowed), "the same burst of answers slows once"
    clock.now += 10
    grown = (await shaper.take("d", 1, per_minute=0)).per_minute
    assert grown == pytest.approx(2 * slowed, rel=0.01)
    clock.now += 200
    assert (await shaper.take("d", 1, per_minute=0)).per_minute == 0, "back to no limit"


async def test_a_slow_down_never_goes_below_the_floor() -> None:
    clock = FakeClock()
    shaper = LocalShaper(Adaptive(min_per_minute=6, hold_seconds=0), clock=clock)
    rate = 600.0
    for _ in range(20):
        clock.now += 0.01
        rate = await shaper.slow_down("d", per_minute=600, observed=0)
    assert rate == pytest.approx(6)


def test_breaker_opens_probes_and_closes() -> None:
    clock = FakeClock()
    breaker = Breaker(BreakerPolicy(failures=3, open_seconds=10, max_open_seconds=25), clock)
    assert breaker.allows()
    assert not breaker.failed() and not breaker.failed()
    breaker.succeeded()  # a success in between: the count starts again
    assert not breaker.failed() and not breaker.failed()
    assert breaker.failed() and breaker.state is BreakerState.OPEN
    assert not breaker.allows() and breaker.waiting() == pytest.approx(10)
    clock.now += 10
    assert breaker.allows() and breaker.state is BreakerState.HALF_OPEN
    breaker.started()
    assert not breaker.allows(), "one probe at a time"
    assert breaker.failed(), "a failed probe pauses again"
    assert breaker.waiting() == pytest.approx(20), "twice as long"
    clock.now += 20
    breaker.allows()
    breaker.started()
    breaker.failed()
    assert breaker.waiting() == pytest.approx(25), "capped"
    clock.now += 25
    assert breaker.allows()
    breaker.started()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.allows()


def test_a_storm_is_many_identical_refusals_not_a_few_bad_addresses() -> None:
    clock = FakeClock()
    storms = StormDetector(StormPolicy(window_seconds=60, min_refusals=10, ratio=0.5), clock)
    # A stale list: 5% of the addresses are gone, spread over a busy minute.
    for i in range(400):
        clock.now += 0.1
        assert not storms.answered("550 5.1.1" if i % 20 == 0 else None)
    # The destination starts refusing everything.
    tripped = [storms.answered("554 5.7.1") for _ in range(400)]
    assert any(tripped)
    assert tripped.index(True) >= 9, "not before ten identical refusals"


def test_a_lane_used_now_and_then_is_not_taken_for_a_slow_one() -> None:
    limits = config.parse({}).limits("t", "example.com")
    lane = Lane("example.com", "example.com", limits)
    for second in range(0, 20 * 64, 20):  # one message every 20 s, nothing waiting behind
        lane.finished(float(second))
    now = 20.0 * 64
    assert lane.throughput(now) == limits.connections, "an idle pace is not slowness"
    assert lane.wait(2, 0.0, now) < 1.0

    lane.queue.extend(cast(Job, object()) for _ in range(50))  # a backlog: now it measures
    for i in range(11):
        lane.finished(now + 0.1 * i)
    assert 9 <= lane.throughput(now + 1.0) <= 12
    lane.queue.clear()
    lane.drained()
    assert lane.throughput(now + 100.0) == limits.connections
