"""kill -9 of one of two delivery processes mid-campaign, then a restart: every recipient
is in the dev sink exactly once, except messages the ledger marked unknown (their content
may have been on the wire when the process died: the DATA marker says so), which are
there at most once, and the campaign still completes. Messages the dead process had
claimed but not yet begun to write are simply sent by the others.

Delivery runs as real processes (`python -m delivery`) on a Kafka namespace and PostgreSQL
schema of this test; mail goes to the shared dev sink under a unique recipient domain.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from contracts import DeliveryProgress, decode
from testkit.events import bulk
from testkit.kafka import publish_stream
from testkit.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 3000
SMTP_CONCURRENCY = 16


def delivery(stack: Any, namespace: str, schema: str, name: str) -> ServiceProcess:
    """One delivery process."""
    settings = {
        "kafka_bootstrap_servers": stack.kafka,
        "database_url": stack.database_url,
        "smtp_host": stack.smtp_host,
        "smtp_port": stack.smtp_port,
        "token_secret": stack.token_secret,
        "tracking_base_url": stack.tracking_base_url,
        "kafka_namespace": namespace,
        "database_schema": schema,
        "instance_id": name,
        "heartbeat_seconds": 0.5,
        "owner_timeout_seconds": 3,
        "kafka_session_timeout_ms": 6000,
        "progress_interval_seconds": 0.5,
        "smtp_concurrency": SMTP_CONCURRENCY,
    }
    log = ROOT / ".local" / "logs" / f"test-{namespace}{name}.log"
    return ServiceProcess("delivery", settings, log)


async def ledger_states(database_url: str, schema: str) -> Counter[str]:
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.ledger") is None:
            return Counter()
        rows = await conn.fetch(f"SELECT state, count(*) AS n FROM {schema}.ledger GROUP BY 1")
        return Counter({r["state"]: r["n"] for r in rows})
    finally:
        await conn.close()


async def unknown_ids(database_url: str, schema: str) -> dict[uuid.UUID, bool]:
    """Unknown messages, and whether each has its DATA marker."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            f"SELECT message_id, data_at IS NOT NULL AS marked FROM {schema}.ledger"
            " WHERE state = 'unknown'"
        )
        return {r["message_id"]: r["marked"] for r in rows}
    finally:
        await conn.close()


async def caught(sink_api: str, domain: str) -> Counter[str]:
    """How many mails the sink holds per recipient of `domain`."""
    counts: Counter[str] = Counter()
    after = 0
    async with httpx.AsyncClient(base_url=sink_api, timeout=30) as client:
        while True:
            page = (await client.get("/messages", params={"after": after, "limit": 20000})).json()
            if not page:
                return counts
            for message in page:
                for rcpt in message["rcpt_to"]:
                    if rcpt.endswith("@" + domain):
                        counts[rcpt] += 1
            after = page[-1]["id"]


def finals(p: DeliveryProgress) -> int:
    return (
        p.sent + p.bounced + p.soft_bounced + p.failed + p.unknown + p.suppressed
        + p.blocked + p.complained
    )  # fmt: skip


async def final_progress(bootstrap: str, namespace: str, within: float) -> DeliveryProgress:
    consumer = AIOKafkaConsumer(
        namespace + DeliveryProgress.topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = decode(record.value, DeliveryProgress)
                    if finals(event) >= RECIPIENTS:
                        return event
        raise AssertionError("no DeliveryProgress with every recipient final")
    finally:
        await consumer.stop()


async def test_kill_9_mid_campaign_then_restart_sends_each_mail_at_most_once(
    stack: Any, kafka_namespace: str, pg_schema: str
) -> None:
    domain = f"kill{uuid.uuid4().hex[:10]}.example.net"
    first = delivery(stack, kafka_namespace, pg_schema, "kill-a")
    second = delivery(stack, kafka_namespace, pg_schema, "kill-b")
    restarted = delivery(stack, kafka_namespace, pg_schema, "kill-a2")
    try:
        for d in (first, second):
            d.start()
        await asyncio.gather(first.wait_healthy(), second.wait_healthy())
        c, recipients = bulk(RECIPIENTS, [domain])
        await publish_stream(stack.kafka, kafka_namespace, c, recipients)

        deadline = time.monotonic() + 120
        while sum((await ledger_states(stack.database_url, pg_schema)).values()) < RECIPIENTS // 4:
            assert time.monotonic() < deadline, "delivery did not start"
            await asyncio.sleep(0.05)
        first.kill()
        states_at_kill = await ledger_states(stack.database_url, pg_schema)
        assert sum(states_at_kill.values()) < RECIPIENTS, "killed too late to mean anything"
        restarted.start()
        await restarted.wait_healthy()

        progress = await final_progress(stack.kafka, kafka_namespace, within=180)
    finally:
        for d in (first, second, restarted):
            d.stop()

    states = await ledger_states(stack.database_url, pg_schema)
    unknown = await unknown_ids(stack.database_url, pg_schema)
    counts = await caught(stack.sink_api, domain)
    by_message = {r.message_id: r.email for r in recipients}
    unknown_emails = {by_message[m] for m in unknown}

    assert sum(states.values()) == RECIPIENTS
    assert set(states) <= {"sent", "unknown"}, states
    assert (finals(progress), progress.sent, progress.unknown) == (
        RECIPIENTS,
        states["sent"],
        states["unknown"],
    )
    duplicates = {email: n for email, n in counts.items() if n > 1}
    assert not duplicates, f"sent more than once: {duplicates}"
    missing = {r.email for r in recipients} - set(counts) - unknown_emails
    assert not missing, f"never sent although not unknown: {sorted(missing)[:10]}"
    assert all(unknown.values()), "only messages that had entered DATA are unknown"
    # Per connection the message being written and the one announced behind it, plus the
    # outcomes on their way into the ledger (before the markers: every claimed chunk).
    assert len(unknown) <= 3 * SMTP_CONCURRENCY, f"{len(unknown)} unknown"
