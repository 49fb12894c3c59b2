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
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from contracts import (
    Address,
    CampaignScheduled,
    DeliveryProgress,
    RecipientResolved,
    RecipientSpec,
    StaffMember,
    decode,
)
from testkit.kafka import publish_stream

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 3000
SMTP_CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Delivery:
    """One delivery process."""

    def __init__(self, stack: Any, namespace: str, schema: str, name: str) -> None:
        self.port = free_port()
        self.env = dict(
            os.environ,
            KAFKA_BOOTSTRAP_SERVERS=stack.kafka,
            DATABASE_URL=stack.database_url,
            SMTP_HOST=stack.smtp_host,
            SMTP_PORT=str(stack.smtp_port),
            TOKEN_SECRET=stack.token_secret,
            TRACKING_BASE_URL=stack.tracking_base_url,
            KAFKA_NAMESPACE=namespace,
            DATABASE_SCHEMA=schema,
            HTTP_PORT=str(self.port),
            INSTANCE_ID=name,
            HEARTBEAT_SECONDS="0.5",
            OWNER_TIMEOUT_SECONDS="3",
            KAFKA_SESSION_TIMEOUT_MS="6000",
            PROGRESS_INTERVAL_SECONDS="0.5",
            SMTP_CONCURRENCY=str(SMTP_CONCURRENCY),
            LOG_LEVEL="WARNING",
        )
        self.log = ROOT / ".local" / "logs" / f"test-{namespace}{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "delivery"],
                env=self.env,
                stdout=out,
                stderr=out,
                cwd=ROOT,
                start_new_session=True,
            )

    async def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, self.log
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz")).is_success:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"delivery not healthy, see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def build(domain: str) -> tuple[CampaignScheduled, list[RecipientResolved]]:
    tenant = uuid.uuid4()
    c = CampaignScheduled(
        tenant_id=tenant,
        campaign_id=uuid.uuid4(),
        subject="{{ last_name }}様 お知らせ",
        html_body='<html><body><p>{{ full_name }} 様</p><a href="https://example.com/x">x</a>'
        "</body></html>",
        recipients=RecipientSpec(),
        sender=Address(name="営業部", email="sales@example.com"),
        operator=StaffMember(user_id=uuid.uuid4(), name="op", email="op@example.com"),
        notify_user_id=uuid.uuid4(),
    )
    recipients = [
        RecipientResolved(
            tenant_id=tenant,
            campaign_id=c.campaign_id,
            message_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            email=f"r{i}@{domain}",
            merge_values={"last_name": "山田", "full_name": f"山田 {i}"},
            sender=c.sender,
            notify_user_id=c.notify_user_id,
        )
        for i in range(RECIPIENTS)
    ]
    return c, recipients


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
    first = Delivery(stack, kafka_namespace, pg_schema, "kill-a")
    second = Delivery(stack, kafka_namespace, pg_schema, "kill-b")
    restarted = Delivery(stack, kafka_namespace, pg_schema, "kill-a2")
    try:
        for d in (first, second):
            d.start()
        await asyncio.gather(first.wait_healthy(), second.wait_healthy())
        c, recipients = build(domain)
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
