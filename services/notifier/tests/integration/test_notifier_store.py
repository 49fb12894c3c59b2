"""Classification and digests with the real adapters: Redis script, PostgreSQL, SMTP sink."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from notifier_tests_support import Scenario, to_hit

from contracts import Timing
from notifier import handlers
from notifier.adapters.redis import RedisSuppressionState
from notifier.bootstrap import build_digests, cycle_of
from notifier.digests import DigestCycle
from notifier.settings import Settings

from .conftest import Sink, forget_redis_state

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
MIDNIGHT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 2026-11-27 00:00 in Tokyo


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def ingest(cycle: DigestCycle, suppression: RedisSuppressionState, *events: object) -> None:
    hits = [to_hit(e) for e in events]
    await handlers.ingest_hits(hits, suppression=suppression, store=cycle.hits)


async def kinds(cycle: DigestCycle, events: list) -> list[str]:
    rows = await cycle.hits._pool.fetch(
        "SELECT event_id, kind FROM hits WHERE event_id = ANY($1::uuid[])",
        [e.event_id for e in events],
    )
    by_id = {r["event_id"]: r["kind"] for r in rows}
    # Suppressed re-opens are counted, never stored.
    return [by_id.get(e.event_id, "suppressed") for e in events]


OPEN_SEQUENCES = [
    ([0, 59], ["first_open", "suppressed"]),
    ([0, 61], ["first_open", "reopen"]),
    ([0, 60], ["first_open", "suppressed"]),  # exactly one hour: still within it
    ([0.4 / 60_000, 60 + 0.4 / 60_000], ["first_open", "suppressed"]),  # off whole ms
    ([0, 30, 60, 90, 120], ["first_open"] + ["suppressed"] * 4),
    ([0, 90, 50], ["first_open", "reopen", "suppressed"]),
]


@pytest.mark.parametrize("redis_restarts", [False, True])
@pytest.mark.parametrize(("minutes", "expected"), OPEN_SEQUENCES)
async def test_open_classification_survives_redis_restarting_empty(
    cycle: DigestCycle,
    suppression: RedisSuppressionState,
    redis: object,
    settings: Settings,
    minutes: list,
    expected: list,
    redis_restarts: bool,
) -> None:
    scenario = Scenario()
    await handlers.record_campaign(scenario.scheduled(), store=cycle.hits)
    message = uuid.uuid4()
    events = [scenario.opened(message, at(m)) for m in minutes]
    for event in events:
        if redis_restarts:
            await forget_redis_state(redis, settings.redis_key_prefix)
        await ingest(cycle, suppression, event)
    assert await kinds(cycle, events) == expected
    stats = await cycle.ledger.stats(scenario.tenant_id)
    assert stats["suppressed_reopens"] == expected.count("suppressed")


async def test_one_batch_with_duplicates_machine_and_many_messages(
    cycle: DigestCycle, suppression: RedisSuppressionState
) -> None:
    scenario = Scenario()
    await handlers.record_campaign(scenario.scheduled(), store=cycle.hits)
    messages = [uuid.uuid4() for _ in range(50)]
    first = [scenario.opened(m, at(0)) for m in messages]
    again = [scenario.opened(m, at(30)) for m in messages]
    machine = [scenario.opened(m, at(1), machine=True) for m in messages]
    clicks = [scenario.clicked(m, at(2)) for m in messages]
    batch = [*first, *machine, *again, *clicks]
    await ingest(cycle, suppression, *batch, *first[:10])
    assert await cycle.ledger.stats(scenario.tenant_id) == {
        "digests_sent": 0,
        "notifications_pending": 100,
        "awaiting_campaign": 0,
        "suppressed_reopens": 50,
        "machine_events": 50,
        "first_opens": 50,
        "reopens": 0,
        "clicks": 50,
    }
    await ingest(cycle, suppression, *batch)  # redelivered as a whole
    stats = await cycle.ledger.stats(scenario.tenant_id)
    # Notified hits are stored once; suppressed and machine ones are counted at least once.
    assert (stats["notifications_pending"], stats["first_opens"], stats["clicks"]) == (100, 50, 50)
    assert stats["reopens"] == 0 and stats["suppressed_reopens"] >= 50


async def test_digest_lists_who_and_what_and_is_sent_once(
    cycle: DigestCycle, suppression: RedisSuppressionState, sink: Sink
) -> None:
    scenario = Scenario(reopen=Timing.HOURLY)
    await handlers.record_campaign(scenario.scheduled(), store=cycle.hits)
    message = uuid.uuid4()
    await handlers.record_messages([scenario.sent(message, "山田 太郎")], store=cycle.hits)
    await ingest(
        cycle,
        suppression,
        scenario.opened(message, at(0)),
        scenario.opened(message, at(20)),
        scenario.clicked(message, at(21), url="https://shop.example/冬"),
        scenario.opened(message, at(13 * 60 + 30)),  # re-open 23:30, hourly: ends at midnight
    )
    result = await cycle.close_and_send(MIDNIGHT)
    assert result["claimed"] == 1 and result["sent"] == 1
    assert (await cycle.close_and_send(MIDNIGHT + timedelta(days=3)))["claimed"] == 0

    (mail,) = await sink.wait_for(scenario.user("sender").email, 1)
    raw = await sink.raw(mail["id"])
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert "初回開封1件・再開封1件・クリック1件" in str(parsed["Subject"])
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "山田 太郎 <c-" in text and "https://shop.example/冬" in text
    assert "2026-11-26 10:00" in text and "2026-11-26 23:30" in text
    outbox = await cycle.hits._pool.fetch("SELECT topic FROM outbox")
    assert [r["topic"] for r in outbox] == ["digest.sent"]
    stats = await cycle.ledger.stats(scenario.tenant_id)
    assert stats["digests_sent"] == 1 and stats["notifications_pending"] == 0


async def test_two_instances_closing_and_sending_together_send_one_digest_per_user(
    cycle: DigestCycle, suppression: RedisSuppressionState, settings: Settings, sink: Sink
) -> None:
    scenario = Scenario()
    users = ["sender", "owner", "deputy", "fourth", "fifth"]
    for user in users:
        scenario.user(user)
    await handlers.record_campaign(scenario.scheduled(), store=cycle.hits)
    for user in users:
        await ingest(cycle, suppression, scenario.opened(uuid.uuid4(), at(0), user=user))
    other_settings = settings.model_copy(update={"instance_id": "other"})
    async with build_digests(other_settings) as digests:
        other = cycle_of(replace(digests, clock=cycle.clock), other_settings)
        results = await asyncio.gather(
            cycle.close_and_send(MIDNIGHT, wait_s=5), other.close_and_send(MIDNIGHT, wait_s=5)
        )
    assert sum(r["claimed"] for r in results) == 5
    assert sum(r["sent"] for r in results) == 5
    for user in users:
        assert len(await sink.wait_for(scenario.user(user).email, 1)) == 1


async def test_a_lease_that_ran_out_cannot_mark_its_digest_sending(
    cycle: DigestCycle, suppression: RedisSuppressionState
) -> None:
    scenario = Scenario()
    await handlers.record_campaign(scenario.scheduled(), store=cycle.hits)
    await ingest(cycle, suppression, scenario.opened(uuid.uuid4(), at(0)))
    ledger = cycle.ledger
    [digest_id] = await handlers.close_periods(MIDNIGHT, ledger=ledger, store=cycle.hits)
    [lease] = await ledger.lease("slow", 1, 0.05)
    await asyncio.sleep(0.1)
    assert not await ledger.extend_lease(digest_id, "slow", 60)
    assert not await ledger.mark_sending(digest_id, "slow", 60)
    [again] = await ledger.lease("other", 1, 60)  # taken over, as after a crash
    assert again.digest_id == lease.digest_id == digest_id
    assert await ledger.mark_sending(digest_id, "other", 60)
    assert await ledger.extend_lease(digest_id, "other", 60)
    assert not await ledger.extend_lease(digest_id, "slow", 60)
