"""A notifier process killed between building and sending a digest: still exactly one digest.

The operator command `python -m notifier close-periods` runs as a subprocess with the
test-only hook DIGEST_FAULT_AFTER_BUILD: `exit` ends the process with os._exit right after the
digest is built; `pause` announces the build on stderr and waits, and the test kills it with
SIGKILL. Another notifier, once the dead process's lease has expired, sends the digest; after
that, nothing is left to send.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from notifier_tests_support import Scenario, to_hit

from notifier import handlers
from notifier.adapters.redis import RedisSuppressionState
from notifier.digests import DigestCycle
from notifier.settings import Settings

from .conftest import Sink

MIDNIGHT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 2026-11-27 00:00 in Tokyo


def environment(settings: Settings, fault: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        DATABASE_SCHEMA=settings.database_schema,
        SMTP_HOST=settings.smtp_host,
        SMTP_PORT=str(settings.smtp_port),
        DIGEST_LEASE_S="1",
        DIGEST_FAULT_AFTER_BUILD=fault,
        LOG_LEVEL="WARNING",
    )
    return env


async def close_periods(settings: Settings, fault: str = "") -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "notifier",
        "close-periods",
        "--as-of",
        MIDNIGHT.isoformat(),
        env=environment(settings, fault),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def kill_after_build(process: asyncio.subprocess.Process) -> int:
    assert process.stderr is not None
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
        assert line, "the process ended before building a digest"
        if b"notifier-fault: digest built" in line:
            break
    os.kill(process.pid, signal.SIGKILL)
    return await process.wait()


async def digest_states(cycle: DigestCycle) -> list[str]:
    return [r["state"] for r in await cycle.hits._pool.fetch("SELECT state FROM digests")]


@pytest.mark.parametrize("fault", ["pause", "exit"])
async def test_killed_between_building_and_sending_still_sends_exactly_one_digest(
    cycle: DigestCycle,
    suppression: RedisSuppressionState,
    settings: Settings,
    sink: Sink,
    fault: str,
) -> None:
    scenario = Scenario()
    await handlers.record_campaign(scenario.scheduled(), store=cycle.hits)
    opens = [scenario.opened(uuid.uuid4(), MIDNIGHT - timedelta(hours=h)) for h in (2, 3)]
    await handlers.ingest_hits(
        [to_hit(e) for e in opens], suppression=suppression, store=cycle.hits
    )
    recipient = scenario.user("sender").email

    crashing = await close_periods(settings, fault)
    if fault == "pause":
        assert await kill_after_build(crashing) == -signal.SIGKILL
    else:
        assert await asyncio.wait_for(crashing.wait(), timeout=60) == 137
    assert await digest_states(cycle) == ["building"]
    assert await sink.to(recipient) == []

    await asyncio.sleep(1.2)  # the dead process's lease runs out
    assert (await cycle.close_and_send(MIDNIGHT))["sent"] == 1
    assert (await cycle.close_and_send(MIDNIGHT + timedelta(days=1)))["sent"] == 0
    assert await digest_states(cycle) == ["sent"]
    mails = await sink.wait_for(recipient, 1)
    await asyncio.sleep(0.3)
    assert len(await sink.to(recipient)) == len(mails) == 1
