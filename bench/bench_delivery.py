"""Delivery into Postfix's smtp-sink, beside smtp-source measured in the same run.

    uv run --frozen python bench/bench_delivery.py [--messages 100000] [--processes 1]
                        [--signing both|off|on] [--profile bench/results/delivery.prof]

Pre-loads a campaign (tracking and footer on) and its RecipientResolved into the recipient
stream of a Kafka namespace of its own, starts `smtp-sink` on a free port and delivery
(PROCESSES processes, own PostgreSQL schema, ledger on) against them, and times from the
first message recorded as sent to the last. It does so twice: unsigned, then with the
campaign's From domain carrying an RSA-2048 DKIM key (as a verified sending domain's
snapshot does). Then `smtp-source` sends as many mails of the same size over 8 persistent
sessions to the same sink, and `openssl speed -seconds 3 rsa2048` measures what one core
signs per second. Everything it started is stopped and removed; the last line printed is a
JSON object: delivery.msgs_per_s, delivery.smtp_source_msgs_per_s, delivery.ratio,
delivery.dkim_msgs_per_s, delivery.openssl_rsa2048_sign_per_s, delivery.dkim_ratio (signed
mails per second over one core's RSA signatures per second).

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

from benchkit import load_env, start_smtp_sink

from testkit.kafka import publish_stream
from testkit.processes import free_port
from testkit.sandbox import kafka_namespace, pg_schema

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services" / "delivery" / "tests")]

SMTP_SINK, SMTP_SOURCE = "/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"
SESSIONS = 8


def log(text: str) -> None:
    print(f"[bench delivery] {text}", file=sys.stderr, flush=True)


def signing_keys(secret: str) -> list[Any]:
    """The RSA-2048 key of the From domain, encrypted for delivery as composer does it."""
    from contracts import SigningKey
    from mailkit.keys import KeyVault
    from mailkit.signing import generate_rsa_key

    sealed = KeyVault(secret).encrypt(generate_rsa_key())
    return [SigningKey(domain="example.com", selector="bench", algorithm="rsa-sha256",
                       private_key=sealed)]  # fmt: skip


def build_campaign(tenant: uuid.UUID, keys: list[Any]) -> Any:
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
        signing_keys=keys,
    )


def recipients(c: Any, n: int) -> list[Any]:
    from testkit.events import recipient

    merge = {"last_name": "顧客", "company": "ベンチ商事"}
    return [
        recipient(
            c,
            f"r{i}@bench.example",
            name=f"顧客 {i}",
            merge_values=merge | {"full_name": f"顧客 {i}"},
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


def openssl_rsa2048_signs_per_s() -> float:
    """One core's RSA-2048 signatures per second, as `openssl speed` counts them."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", "3", "rsa2048"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # "rsa 2048 bits 0.000210s 0.000013s   4756.6  78497.0": sign, verify, sign/s, verify/s
    line = next(line for line in out.splitlines() if line.startswith("rsa 2048 bits"))
    return float(line.split()[5])


def mail_size(c: Any, r: Any, env: dict[str, str]) -> int:
    from mailkit.keys import KeyVault, signers_for
    from mailkit.render import CompiledCampaign, RenderConfig
    from servicekit.tokens import TokenCodec

    config = RenderConfig(
        env.get("TRACKING_BASE_URL", "http://127.0.0.1:8004"),
        "bounces.bulkmail.localhost",
        TokenCodec.from_secret(env["TOKEN_SECRET"]),
    )
    signers = signers_for(c.signing_keys, KeyVault(env["SIGNING_KEYS_SECRET"]))
    return len(CompiledCampaign(c, config, signers).render(r, int(time.time())).data)


def print_profile(path: str) -> None:
    stats = pstats.Stats(path, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(35)


async def one_pass(
    env: dict[str, str], args: argparse.Namespace, signed: bool
) -> tuple[float, int]:
    """Delivers a campaign of `args.messages` (signed or not); (msg/s, bytes per mail)."""
    async with (
        kafka_namespace(env["KAFKA_BOOTSTRAP_SERVERS"], "bench") as namespace,
        pg_schema(env["DATABASE_URL"], "bench_") as schema,
    ):
        env = dict(env, KAFKA_NAMESPACE=namespace, DATABASE_SCHEMA=schema)
        keys = signing_keys(env["SIGNING_KEYS_SECRET"]) if signed else []
        c = build_campaign(uuid.uuid4(), keys)
        rs = recipients(c, args.messages)
        size = mail_size(c, rs[0], env)
        what = "DKIM-signed (RSA-2048)" if signed else "unsigned"
        log(f"pre-loading {len(rs)} RecipientResolved, {what} ({size} bytes per mail)")
        await publish_stream(env["KAFKA_BOOTSTRAP_SERVERS"], namespace, c, rs)
        del rs
        log(f"delivering with {args.processes} process(es)")
        profile = f"{args.profile}.{'dkim' if signed else 'plain'}" if args.profile else None
        rate = await time_delivery(
            env, schema, c.campaign_id, args.messages, args.processes, profile
        )
        log(f"delivery, {what}: {rate:.0f} msg/s")
        return rate, size


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--signing", choices=("both", "off", "on"), default="both")
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
    figures: dict[str, Any] = {"delivery.processes": args.processes}
    sink = start_smtp_sink(port)
    try:
        if args.signing in ("both", "off"):
            rate, size = await one_pass(env, args, signed=False)
            log("smtp-source reference")
            reference = smtp_source_rate(port, args.messages, size)
            figures.update({
                "delivery.msgs_per_s": round(rate, 1),
                "delivery.smtp_source_msgs_per_s": round(reference, 1),
                "delivery.ratio": round(rate / reference, 3),
                "delivery.mail_bytes": size,
            })  # fmt: skip
        if args.signing in ("both", "on"):
            signed, size = await one_pass(env, args, signed=True)
            log("openssl speed rsa2048 reference")
            signs = openssl_rsa2048_signs_per_s()
            figures.update({
                "delivery.dkim_msgs_per_s": round(signed, 1),
                "delivery.openssl_rsa2048_sign_per_s": round(signs, 1),
                "delivery.dkim_ratio": round(signed / signs, 3),
                "delivery.dkim_mail_bytes": size,
            })  # fmt: skip
    finally:
        sink.terminate()
        sink.wait(10)
    if args.profile:
        for mode in ("plain", "dkim"):
            for k in range(1, args.processes + 1):
                if Path(f"{args.profile}.{mode}.{k}").exists():
                    print_profile(f"{args.profile}.{mode}.{k}")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
