"""Outages against a dev sink of the test's own, time-compressed: greylisting for "five
minutes", a relay stopped for "minutes" mid-campaign. Nothing is lost, no attempt is spent
while the relay is away, and whatever was cut off inside DATA is unknown, then resent at
the operator's word."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from delivery_tests_harness import Bus, done, running, settings_for, sink_process

import testkit.events as support
from contracts import DeliveryProgress, UnknownResolution


async def ledger(stack: Any, schema: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetch(f"SELECT state, attempts, email, data_at FROM {schema}.ledger")
    finally:
        await conn.close()


async def test_greylisting_for_five_minutes_ends_delivered(
    stack: Any, kafka_namespace: str, pg_schema: str, bus: Bus, tmp_path: Path
) -> None:
    # 100 times faster: greylisted for 3 s (5 minutes), retries from 0.3 s backing off to
    # 1 s (2 s to 30 minutes), a horizon of 20 s (24 hours).
    domain = support.unique_domain()
    c = support.campaign()
    grey = [support.recipient(c, f"grey{i}@{domain}") for i in range(5)]
    plain = [support.recipient(c, f"ok{i}@{domain}") for i in range(5)]
    async with sink_process(tmp_path / "sink", greylist_seconds=3) as sink:
        settings = settings_for(
            stack, kafka_namespace, pg_schema, smtp_host="127.0.0.1", smtp_port=sink.smtp_port,
            retry_base_seconds=0.3, retry_max_seconds=1.0, retry_horizon_seconds=20,
        )  # fmt: skip
        started = time.monotonic()
        async with running(settings):
            await bus.stream(c, grey + plain)
            await bus.until(done(c.campaign_id, 10), timeout=60)
        caught = await sink.caught()
    assert time.monotonic() - started >= 3, "not before the greylisting ended"
    final = bus.latest()
    assert (final.sent, final.deferred, final.soft_bounced, final.failed) == (10, 0, 0, 0)
    assert any(p.deferred == 5 for p in bus.of(DeliveryProgress)), "deferred meanwhile"
    assert all(caught[r.email] == 1 for r in grey + plain), caught


async def test_a_relay_stopped_for_minutes_mid_campaign_loses_nothing(
    stack: Any, kafka_namespace: str, pg_schema: str, bus: Bus, tmp_path: Path
) -> None:
    # The relay is killed mid-campaign and comes back on its port 6 s later ("minutes":
    # the breaker pauses 0.5 s, doubling to 2 s, so it probes several times meanwhile).
    domain = support.unique_domain()
    shaping = tmp_path / "shaping.toml"
    shaping.write_text(
        f'[destinations.paced]\ndomains = ["{domain}"]\nper_minute = 1200\n'
        "[breaker]\nfailures = 3\nopen_seconds = 0.5\nmax_open_seconds = 2.0\n"
    )
    c = support.campaign()
    rs = [support.recipient(c, f"r{i}@{domain}") for i in range(300)]
    async with sink_process(tmp_path / "sink") as sink:
        settings = settings_for(
            stack, kafka_namespace, pg_schema, smtp_host="127.0.0.1", smtp_port=sink.smtp_port,
            shaping_file=str(shaping),
        )  # fmt: skip
        async with running(settings):
            await bus.stream(c, rs)
            while (await sink.stats())["count"] < 60:
                await asyncio.sleep(0.1)
            sink.kill()
            await asyncio.sleep(6)
            down = await ledger(stack, pg_schema)
            sink.start()
            await bus.until(done(c.campaign_id, len(rs)), timeout=120)
            rows = await ledger(stack, pg_schema)
            unknown = [r["email"] for r in rows if r["state"] == "unknown"]
            if unknown:
                await bus.publish([resolution(c, "resend")])
                await bus.until(lambda _: bus.latest().unknown == 0, timeout=60)
                await bus.until(done(c.campaign_id, len(rs)), timeout=60)
        caught = await sink.caught()

    # Cut off inside DATA is unknown (checked below), which is not giving up.
    given_up = {r["state"] for r in down} - {"sent", "sending", "retry", "unknown"}
    assert not given_up, f"nothing given up while the relay was down: {given_up}"
    assert max(r["attempts"] for r in rows) == 1, "no attempt spent while it was down"
    assert {r["state"] for r in rows} <= {"sent", "unknown"}
    assert len(unknown) <= settings.smtp_concurrency, "only what was cut off inside DATA"
    assert all(r["data_at"] is not None for r in rows if r["state"] == "unknown")
    for r in rs:
        expected = {1, 2} if r.email in unknown else {1}  # a resend may duplicate
        assert caught[r.email] in expected, (r.email, caught[r.email])
    assert bus.latest().sent == len(rs)


def resolution(c: Any, action: str) -> UnknownResolution:
    return UnknownResolution(
        tenant_id=c.tenant_id,
        campaign_id=c.campaign_id,
        action=action,  # type: ignore[arg-type]
        requested_by_user_id=uuid.uuid4(),
    )
