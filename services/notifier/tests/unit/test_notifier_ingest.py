"""Classifying opens and clicks: first open, re-open, suppressed re-open, machine, duplicates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from notifier_tests_fakes import FakeClock, FakeStore, FakeSuppression
from notifier_tests_support import Scenario, to_hit

from contracts import CampaignScheduled, Timing
from notifier import handlers
from notifier.domain import HitKind, Recorded, classify_open

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("gap_minutes", "expected"),
    [
        (None, HitKind.FIRST_OPEN),
        (0, HitKind.SUPPRESSED),
        (30, HitKind.SUPPRESSED),
        (59, HitKind.SUPPRESSED),
        (59.99, HitKind.SUPPRESSED),
        (60, HitKind.SUPPRESSED),  # "within one hour" includes the hour itself
        (60 + 1 / 60_000, HitKind.REOPEN),  # one millisecond more
        (61, HitKind.REOPEN),
        (24 * 60, HitKind.REOPEN),
        (-30, HitKind.SUPPRESSED),  # late: 30 minutes before the last open seen
        (-60, HitKind.SUPPRESSED),
        (-61, HitKind.REOPEN),
    ],
)
def test_classify_open(gap_minutes: float | None, expected: HitKind) -> None:
    previous = None if gap_minutes is None else at(0)
    now = at(gap_minutes or 0)
    assert classify_open(now, previous) is expected


def test_an_hour_apart_is_measured_in_the_milliseconds_redis_keeps() -> None:
    # Redis answers the previous open truncated to the millisecond, PostgreSQL to the
    # microsecond: both must classify an open exactly one hour later alike.
    previous = T0 + timedelta(microseconds=400)
    later = previous + timedelta(hours=1)
    assert classify_open(later, previous) is HitKind.SUPPRESSED
    assert classify_open(later, T0) is HitKind.SUPPRESSED  # the truncated answer
    assert classify_open(later + timedelta(milliseconds=1), previous) is HitKind.REOPEN


# Minutes after T0 of successive opens of one message -> how each is classified.
OPEN_SEQUENCES = [
    ("single open", [0], ["first_open"]),
    ("re-open at 59 min", [0, 59], ["first_open", "suppressed"]),
    ("re-open at 61 min", [0, 61], ["first_open", "reopen"]),
    ("re-open at exactly 60 min", [0, 60], ["first_open", "suppressed"]),
    ("re-open a millisecond after the hour", [0, 60 + 1 / 60_000], ["first_open", "reopen"]),
    (
        "chain every 30 min: each is within an hour of the previous",
        [0, 30, 60, 90, 120, 150],
        ["first_open", "suppressed", "suppressed", "suppressed", "suppressed", "suppressed"],
    ),
    ("gap after a chain", [0, 30, 120], ["first_open", "suppressed", "reopen"]),
    ("re-open, then another hour later", [0, 61, 122], ["first_open", "reopen", "reopen"]),
    ("late open near the last one", [0, 90, 50], ["first_open", "reopen", "suppressed"]),
    ("late open far from the last one", [0, 180, 60], ["first_open", "reopen", "reopen"]),
]


def world(**timings: Timing) -> tuple[Scenario, FakeStore, FakeSuppression]:
    scenario = Scenario(**timings)
    return scenario, FakeStore(FakeClock()), FakeSuppression()


async def ingest(events: list, store: FakeStore, suppression: FakeSuppression) -> None:
    await handlers.ingest_hits([to_hit(e) for e in events], suppression=suppression, store=store)


def kinds(store: FakeStore, events: list) -> list[str]:
    return [store.classified[e.event_id].value for e in events]


@pytest.mark.parametrize("batching", ["one batch", "one event per batch"])
@pytest.mark.parametrize(("case", "minutes", "expected"), OPEN_SEQUENCES)
async def test_open_sequences(case: str, minutes: list, expected: list, batching: str) -> None:
    scenario, store, suppression = world()
    await handlers.record_campaign(scenario.scheduled(), store=store)
    message = uuid.uuid4()
    events = [scenario.opened(message, at(m)) for m in minutes]
    if batching == "one batch":
        await ingest(events, store, suppression)
    else:
        for e in events:
            await ingest([e], store, suppression)
    assert kinds(store, events) == expected, case


@pytest.mark.parametrize(("case", "minutes", "expected"), OPEN_SEQUENCES)
async def test_redis_restarting_empty_between_opens_changes_nothing(
    case: str, minutes: list, expected: list
) -> None:
    """With Redis emptied before every open, PostgreSQL's last open decides the same way."""
    scenario, store, suppression = world()
    await handlers.record_campaign(scenario.scheduled(), store=store)
    message = uuid.uuid4()
    events = [scenario.opened(message, at(m)) for m in minutes]
    for e in events:
        suppression.flush()
        await ingest([e], store, suppression)
    assert kinds(store, events) == expected, case


async def test_machine_opens_and_clicks_are_counted_not_notified() -> None:
    scenario, store, suppression = world()
    await handlers.record_campaign(scenario.scheduled(), store=store)
    message = uuid.uuid4()
    proxy = scenario.opened(message, at(0), machine=True)
    scanner = scenario.clicked(message, at(0), machine=True)
    human = scenario.opened(message, at(10))
    await ingest([proxy, scanner, human], store, suppression)
    # The proxy's prefetch is not the message's previous open: the human open is the first.
    assert kinds(store, [proxy, scanner, human]) == ["machine", "machine", "first_open"]
    assert proxy.event_id not in store.hits and scanner.event_id not in store.hits
    assert store.counters["machine"] == 2


async def test_duplicate_events_are_ignored_and_keep_their_classification() -> None:
    scenario, store, suppression = world()
    await handlers.record_campaign(scenario.scheduled(), store=store)
    message = uuid.uuid4()
    first, again = scenario.opened(message, at(0)), scenario.opened(message, at(10))
    click = scenario.clicked(message, at(11))
    await ingest([first, again, click], store, suppression)
    new = await handlers.ingest_hits(
        [to_hit(e) for e in (first, first, again, click)], suppression=suppression, store=store
    )
    assert new == {HitKind.SUPPRESSED: 1}
    assert kinds(store, [first, again, click]) == ["first_open", "suppressed", "click"]
    # Notified hits count once; suppressed ones are counted, not stored: at least once.
    assert (store.counters["first_open"], store.counters["click"]) == (1, 1)
    assert [r.recorded.kind.value for r in store.hits.values()] == ["first_open", "click"]


async def test_redelivered_first_open_is_still_first_when_its_batch_was_not_stored() -> None:
    """A crash after the Redis swap but before the PostgreSQL commit: the replay must not see
    its own earlier swap as a previous open."""
    scenario, store, suppression = world()
    await handlers.record_campaign(scenario.scheduled(), store=store)
    event = scenario.opened(uuid.uuid4(), at(0))
    await suppression.swap_last_opens([to_hit(event)])  # the swap of the lost attempt
    await ingest([event], store, suppression)
    assert kinds(store, [event]) == ["first_open"]


async def test_clicks_are_never_suppressed() -> None:
    scenario, store, suppression = world()
    await handlers.record_campaign(scenario.scheduled(), store=store)
    message = uuid.uuid4()
    clicks = [scenario.clicked(message, at(m)) for m in (0, 1, 2)]
    await ingest(clicks, store, suppression)
    assert kinds(store, clicks) == ["click"] * 3


@pytest.mark.parametrize(
    ("timings", "event", "status"),
    [
        ({"first_open": Timing.NONE}, "open", "dropped"),
        ({"click": Timing.NONE}, "click", "dropped"),
        ({"first_open": Timing.HOURLY}, "open", "pending"),
        ({"reopen": Timing.NONE}, "open", "pending"),
    ],
)
async def test_timing_none_drops_only_its_kind(timings: dict, event: str, status: str) -> None:
    scenario, store, suppression = world(**timings)
    await handlers.record_campaign(scenario.scheduled(), store=store)
    message = uuid.uuid4()
    hit = scenario.opened(message, at(0)) if event == "open" else scenario.clicked(message, at(0))
    await ingest([hit], store, suppression)
    assert store.hits[hit.event_id].status == status


async def test_hits_before_their_campaign_wait_for_it() -> None:
    scenario, store, suppression = world(first_open=Timing.HOURLY)
    event = scenario.opened(uuid.uuid4(), at(5))
    await ingest([event], store, suppression)
    assert store.hits[event.event_id].status == "awaiting"

    await handlers.record_campaign(scenario.scheduled(), store=store)
    assert await handlers.schedule_awaiting(store=store) == 1
    row = store.hits[event.event_id]
    assert row.status == "pending"
    assert row.period is not None and row.period.end == T0 + timedelta(hours=1)


class CampaignArrivingMeanwhile(FakeStore):
    """The campaign's consumer stores the campaign, and schedules what waits for it, while
    a batch of hits is between looking the campaign up and being stored."""

    arriving: CampaignScheduled | None = None

    async def record_hits(self, recorded: Sequence[Recorded]) -> dict[HitKind, int]:
        if self.arriving is not None:
            await handlers.record_campaign(self.arriving, store=self)
            await handlers.schedule_awaiting(store=self)  # finds nothing: not stored yet
            self.arriving = None
        return await super().record_hits(recorded)


async def test_a_hit_stored_after_its_campaign_arrived_does_not_wait_for_it() -> None:
    scenario = Scenario()
    store = CampaignArrivingMeanwhile(FakeClock())
    store.arriving = scenario.scheduled()
    await ingest([scenario.opened(uuid.uuid4(), at(0))], store, FakeSuppression())
    assert [row.status for row in store.hits.values()] == ["pending"]
