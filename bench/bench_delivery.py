"""Delivery into Postfix's smtp-sink, beside smtp-source measured in the same run.

    uv run --frozen python bench/bench_delivery.py [--messages 100000] [--processes 1]
                                                   [--profile bench/results/delivery.prof]

Pre-loads a campaign (tracking and footer on) and its RecipientResolved into the recipient
stream of a Kafka namespace of its own, starts `smtp-sink` on a free port and delivery
(PROCESSES processes, own PostgreSQL schema, ledger on) against them, and times from the
first message recorded as sent to the last. Then `smtp-source` sends as many mails of the
same size over 8 persistent sessions to the same sink. Everything it started is stopped and
removed; the last line printed is a JSON object:
delivery.msgs_per_s, delivery.smtp_source_msgs_per_s, delivery.ratio.

With --profile, delivery runs under cProfile (fewer messages are enough) and the busiest
functions are printed to stderr; the figures of such a run are not comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchkit import free_port, load_env, start_smtp_sink

from testkit.kafka import publish_stream
from testkit.sandbox import kafka_namespace, pg_schema

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services" / "delivery" / "tests")]

SMTP_SINK, SMTP_SOURCE = "/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"
SESSIONS = 8


def log(text: str) -> None:
    print(f"[bench delivery] {text}", file=sys.stderr, flush=True)


def build_campaign(tenant: uuid.UUID) -> Any:
    from contracts import (
        Address,
        CampaignScheduled,
        Footer,
        RecipientSpec,
        StaffMember,
        TrackingSettings,
    )

    paragraphs = "".join(
        f"<p>第{i}段落: いつも{{{{ company }}}}をご利用いただきありがとうございます。"
        f'詳しくは<a href="https://shop.example.com/item/{i}">こちら</a>をご覧ください。</p>\n'
        for i in range(1, 6)
    )
    return CampaignScheduled(
        tenant_id=tenant,
        campaign_id=uuid.uuid4(),
        subject="{{ last_name }}様へ 秋のご案内",
        html_body=f"<html><body>\n<p>{{{{ full_name }}}} 様</p>\n{paragraphs}</body></html>",
        recipients=RecipientSpec(),
        sender=Address(name="営業部", email="sales@example.com"),
        operator=StaffMember(user_id=uuid.uuid4(), name="担当", email="op@example.com"),
        notify_user_id=uuid.uuid4(),
        footer=Footer(
            company_name="株式会社ベンチ", postal_address="東京都港区1-2-3", contact="03-0000-0000"
        ),
        tracking=TrackingSettings(track_opens=True, track_clicks=True),
    )


def recipients(c: Any, n: int) -> list[Any]:
    from contracts import RecipientResolved

    return [
        RecipientResolved(
            tenant_id=c.tenant_id,
            campaign_id=c.campaign_id,
            message_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            email=f"r{i}@bench.example",
            name=f"顧客 {i}",
            merge_values={
                "last_name": "顧客",
                "full_name": f"顧客 {i}",
                "company": "ベンチ商事",
            },
            sender=c.sender,
            notify_user_id=c.notify_user_id,
        )
        for i in range(n)
    ]


async def final_count(database_url: str, schema: str, campaign_id: uuid.UUID) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.ledger")
        if exists is None:
            return 0
        # By campaign and state: an index-only count, light enough to poll.
        return int(
            await conn.fetchval(
                f"SELECT count(*) FROM {schema}.ledger WHERE campaign_id = $1"
                " AND state NOT IN ('sending', 'retry')",
                campaign_id,
            )
        )
    finally:
        await conn.close()


def start_delivery(env: dict[str, str], k: int, profile: str | None) -> subprocess.Popen[bytes]:
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", f"{profile}.{k}"]
    command += ["-m", "delivery"]
    process_env = dict(env, HTTP_PORT=str(free_port()), INSTANCE_ID=f"bench-{k}")
    path = ROOT / ".local" / "logs" / f"bench-delivery-{env['KAFKA_NAMESPACE']}{k}.log"
    log_file = open(path, "wb")  # noqa: SIM115
    return subprocess.Popen(command, env=process_env, stdout=log_file, stderr=log_file, cwd=ROOT)


async def time_delivery(
    env: dict[str, str],
    schema: str,
    campaign_id: uuid.UUID,
    n: int,
    processes: int,
    profile: str | None,
) -> float:
    procs = [start_delivery(env, k, profile) for k in range(1, processes + 1)]
    try:
        first_at = None
        first_count = 0
        deadline = time.monotonic() + 600
        while True:
            count = await final_count(env["DATABASE_URL"], schema, campaign_id)
            now = time.monotonic()
            if count and first_at is None:
                first_at, first_count = now, count
            if count >= n:
                assert first_at is not None
                cpu = sum(cpu_seconds(p.pid) for p in procs)
                log(f"delivery CPU: {cpu * 1e6 / n:.0f} us per message (start-up included)")
                return (count - first_count) / max(now - first_at, 1e-6)
            if now > deadline or any(p.poll() is not None for p in procs):
                codes = [p.poll() for p in procs]
                raise RuntimeError(f"delivery did not finish: {count}/{n} final, exits {codes}")
            await asyncio.sleep(0.25)
    finally:
        # Under cProfile, SIGINT: uvicorn re-raises the signal it stopped on, and only a
        # KeyboardInterrupt lets cProfile write its file on the way out.
        for p in procs:
            p.send_signal(signal.SIGINT if profile else signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def smtp_source_rate(port: int, n: int, size: int) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            SMTP_SOURCE,
            "-d",
            "-s",
            str(SESSIONS),
            "-m",
            str(n),
            "-l",
            str(size),
            "-f",
            "bench@example.com",
            "-t",
            "sink@bench.example",
            f"127.0.0.1:{port}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return n / (time.monotonic() - started)


def mail_size(c: Any, r: Any, env: dict[str, str]) -> int:
    from mailkit.render import CompiledCampaign, RenderConfig
    from servicekit.tokens import TokenCodec

    config = RenderConfig(
        env.get("TRACKING_BASE_URL", "http://127.0.0.1:8004"),
        "bounces.bulkmail.localhost",
        TokenCodec.from_secret(env["TOKEN_SECRET"]),
    )
    return len(CompiledCampaign(c, config).render(r, int(time.time())).data)


def print_profile(path: str) -> None:
    stats = pstats.Stats(path, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(35)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", default=None, help="write cProfile output here")
    args = parser.parse_args()

    env = load_env()
    port = free_port()
    env.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
        SMTP_CONCURRENCY=str(args.concurrency),
        LOG_LEVEL="WARNING",
    )
    (ROOT / ".local" / "logs").mkdir(parents=True, exist_ok=True)
    sink = start_smtp_sink(port)
    try:
        async with (
            kafka_namespace(env["KAFKA_BOOTSTRAP_SERVERS"], "bench") as namespace,
            pg_schema(env["DATABASE_URL"], "bench_") as schema,
        ):
            env.update(KAFKA_NAMESPACE=namespace, DATABASE_SCHEMA=schema)
            c = build_campaign(uuid.uuid4())
            rs = recipients(c, args.messages)
            size = mail_size(c, rs[0], env)
            log(f"pre-loading {len(rs)} RecipientResolved ({size} bytes per mail)")
            await publish_stream(env["KAFKA_BOOTSTRAP_SERVERS"], namespace, c, rs)
            del rs
            log(f"delivering with {args.processes} process(es)")
            rate = await time_delivery(
                env, schema, c.campaign_id, args.messages, args.processes, args.profile
            )
            log(f"delivery: {rate:.0f} msg/s; smtp-source reference")
            reference = smtp_source_rate(port, args.messages, size)
    finally:
        sink.terminate()
        sink.wait(10)
    if args.profile:
        for k in range(1, args.processes + 1):
            print_profile(f"{args.profile}.{k}")
    figures = {
        "delivery.msgs_per_s": round(rate, 1),
        "delivery.smtp_source_msgs_per_s": round(reference, 1),
        "delivery.ratio": round(rate / reference, 3),
        "delivery.mail_bytes": size,
        "delivery.processes": args.processes,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
