"""Traffic shaping against a dev sink of the test's own: per-destination connection limits
hold across two delivery processes (the sink's peak sessions per domain); a slow
destination does not stall a fast one; direct delivery finds each domain's exchangers,
lowest preference first, falling back to the next."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from delivery_tests_harness import (
    Bus,
    done,
    running,
    settings_for,
    sink_process,
    tiny_dns,
)
from pydantic import SecretStr

import testkit.events as support
from contracts import Bounced, MessageSent
from testkit.processes import ServiceProcess


def shaping_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "shaping.toml"
    path.write_text(text)
    return str(path)


async def accepted(sink: Any, domain: str) -> int:
    return int((await sink.stats())["domains"].get(domain, {}).get("accepted", 0))


async def test_connection_limits_hold_across_two_processes(
    stack: Any, kafka_namespace: str, pg_schema: str, bus: Bus, tmp_path: Path
) -> None:
    domain = support.unique_domain()
    shaping = shaping_file(
        tmp_path, f'[destinations.few]\ndomains = ["{domain}"]\nconnections = 2\n'
    )
    c = support.campaign()
    rs = [support.recipient(c, f"slow{i}@{domain}") for i in range(30)]
    async with sink_process(tmp_path / "sink", slow_seconds=0.3) as sink:
        settings = settings_for(
            stack, kafka_namespace, pg_schema, smtp_host="127.0.0.1", smtp_port=sink.smtp_port,
            shaping_file=shaping, redis_url=stack.redis_url,
        )  # fmt: skip
        values = {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in settings.model_dump().items()
            if name != "http_port"
        }
        processes = [
            ServiceProcess(
                "delivery", values | {"instance_id": f"shape-{k}"}, tmp_path / f"d{k}.log"
            )
            for k in (1, 2)
        ]
        try:
            for p in processes:
                p.start()
            await asyncio.gather(*(p.wait_healthy() for p in processes))
            await bus.stream(c, rs)
            await bus.until(done(c.campaign_id, len(rs)), timeout=90)
        finally:
            for p in processes:
                p.stop()
        stats = (await sink.stats())["domains"][domain]
    assert stats["accepted"] == len(rs)
    assert stats["peak_sessions"] == 2, stats


async def test_a_slow_destination_does_not_stall_a_fast_one(
    stack: Any, kafka_namespace: str, pg_schema: str, bus: Bus, tmp_path: Path
) -> None:
    slow, fast = support.unique_domain(), support.unique_domain()
    shaping = shaping_file(
        tmp_path, f'[destinations.slow]\ndomains = ["{slow}"]\nconnections = 2\n'
    )
    c = support.campaign()
    slow_rs = [support.recipient(c, f"slow{i}@{slow}") for i in range(10)]
    fast_rs = [support.recipient(c, f"r{i}@{fast}") for i in range(300)]
    mixed = [*slow_rs, *fast_rs]  # the slow ones first, ahead of everything else
    async with sink_process(tmp_path / "sink", slow_seconds=1.5) as sink:
        settings = settings_for(
            stack, kafka_namespace, pg_schema, smtp_host="127.0.0.1", smtp_port=sink.smtp_port,
            shaping_file=shaping, smtp_concurrency=4,
        )  # fmt: skip
        async with running(settings):
            started = time.monotonic()
            await bus.stream(c, mixed)
            while await accepted(sink, fast) < len(fast_rs):
                assert time.monotonic() - started < 30, "the fast destination was held up"
                await asyncio.sleep(0.1)
            fast_took = time.monotonic() - started
            slow_by_then = await accepted(sink, slow)
            await bus.until(done(c.campaign_id, len(mixed)), timeout=60)
        stats = (await sink.stats())["domains"]
    assert slow_by_then < len(slow_rs), "the slow one was still at it"
    assert fast_took < 10
    assert stats[slow]["peak_sessions"] <= 2 and stats[slow]["accepted"] == len(slow_rs)


async def test_direct_delivery_follows_the_mx_records(
    stack: Any, kafka_namespace: str, pg_schema: str, bus: Bus, tmp_path: Path
) -> None:
    domain, gone, refuses_mail = (support.unique_domain() for _ in range(3))
    zone = {
        # The preferred exchanger does not answer: the next one does.
        (domain, "MX"): [f"10 mx1.{domain}.", f"20 mx2.{domain}."],
        (f"mx1.{domain}", "A"): ["127.0.0.9"],
        (f"mx2.{domain}", "A"): ["127.0.0.1"],
        (refuses_mail, "MX"): ["0 ."],  # a null MX (RFC 7505)
    }
    c = support.campaign()
    ok = [support.recipient(c, f"r{i}@{domain}") for i in range(5)]
    nowhere = support.recipient(c, f"x@{gone}")
    null = support.recipient(c, f"x@{refuses_mail}")
    async with (
        sink_process(tmp_path / "sink") as sink,
        tiny_dns(zone) as resolver,
    ):
        settings = settings_for(
            stack, kafka_namespace, pg_schema, delivery_mode="direct", dns_resolver=resolver,
            direct_smtp_port=sink.smtp_port, smtp_host="192.0.2.1",  # no relay at all
        )  # fmt: skip
        async with running(settings):
            await bus.stream(c, [*ok, nowhere, null])
            await bus.until(done(c.campaign_id, 7), timeout=60)
        caught = await sink.caught()
    assert {e.email for e in bus.of(MessageSent)} == {r.email for r in ok}
    assert all(caught[r.email] == 1 for r in ok)
    bounces = {b.email: b.enhanced_status for b in bus.of(Bounced)}
    assert bounces == {nowhere.email: "5.1.2", null.email: "5.1.10"}
