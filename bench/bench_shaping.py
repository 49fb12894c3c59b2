"""Traffic shaping under throttling: one campaign over many destination domains, two of
which answer 421 past a rate, into a dev sink of the benchmark's own.

    uv run --frozen python bench/bench_shaping.py [--messages 100000] [--domains 20]
                                                  [--throttled 2] [--limit 50]

Pre-loads a campaign and its RecipientResolved, spread evenly over DOMAINS recipient
domains, into the recipient stream of a Kafka namespace of its own; starts the dev sink
(devsink) on free ports with `--rate-limit DOMAIN=LIMIT` for THROTTLED of the domains
(more than LIMIT recipients a second there get `421 4.7.0 ... rate limited`, connection
closed), then one delivery process with the bundled shaping policy (nothing tells it the
sink's limits: it must learn them from the 421s). Postfix's smtp-sink cannot throttle
per domain, hence the dev sink.

It follows the sink's per-domain counts until every message is accepted, and checks the
ledger: every message `sent`, exactly as many accepted as sent, none lost. Everything it
started is stopped and removed; the last line printed is a JSON object of figures:
shaping.total_s (first acceptance to last), shaping.msgs_per_s, shaping.lost,
shaping.fast_finished_s / shaping.throttled_finished_s (when the last unthrottled /
throttled domain was done), shaping.<domain>.msgs_per_s for every domain, the 421s the
sink answered, and the throttled domains' limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from benchkit import drop_schema, load_env

from testkit.events import bulk
from testkit.kafka import publish_stream
from testkit.processes import ServiceProcess, free_port
from testkit.sandbox import kafka_namespace

ROOT = Path(__file__).resolve().parents[1]


def log(text: str) -> None:
    print(f"[bench shaping] {text}", file=sys.stderr, flush=True)


def start_sink(
    store: Path, throttled: list[str], limit: int
) -> tuple[subprocess.Popen[bytes], str, int]:
    smtp, http = free_port(), free_port()
    command = [sys.executable, "-m", "devsink", "--host", "127.0.0.1", "--smtp-port", str(smtp),
               "--http-port", str(http), "--store-dir", str(store)]  # fmt: skip
    for domain in throttled:
        command += ["--rate-limit", f"{domain}={limit}"]
    sink = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    assert sink.stdout is not None
    first = sink.stdout.readline().decode()
    if not first.startswith("devsink: smtp"):
        sink.kill()
        raise RuntimeError(f"devsink did not start: {first!r}")
    return sink, f"http://127.0.0.1:{http}", smtp


def start_delivery(env: dict[str, str]) -> ServiceProcess:
    path = ROOT / ".local" / "logs" / f"bench-shaping-{env['KAFKA_NAMESPACE']}log"
    path.unlink(missing_ok=True)
    delivery = ServiceProcess("delivery", {"instance_id": "bench-shaping"}, path, base=env)
    delivery.start()
    return delivery


async def follow(
    api: str, domains: list[str], per_domain: int, delivery: ServiceProcess
) -> tuple[float, dict[str, float], dict[str, Any]]:
    """Polls the sink until every domain has all its mail; returns when the first mail
    was accepted, when each domain was done, and the sink's final statistics."""
    started: float | None = None
    finished: dict[str, float] = {}
    deadline = time.monotonic() + 3600
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        while True:
            stats = (await client.get("/stats")).json()
            now = time.monotonic()
            counts = {d: stats["domains"].get(d, {}).get("accepted", 0) for d in domains}
            if started is None and any(counts.values()):
                started = now
            for domain, accepted in counts.items():
                if accepted >= per_domain and domain not in finished:
                    finished[domain] = now
            if len(finished) == len(domains):
                assert started is not None
                return started, finished, stats
            if now > deadline or delivery.exited() is not None:
                raise RuntimeError(f"not delivered: {counts}, delivery exit {delivery.exited()}")
            await asyncio.sleep(0.25)


async def ledger_states(database_url: str, schema: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(f"SELECT state, count(*) AS n FROM {schema}.ledger GROUP BY 1")
        return {r["state"]: r["n"] for r in rows}
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--throttled", type=int, default=2)
    parser.add_argument("--limit", type=int, default=50, help="msg/s the throttled accept")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:6]
    domains = [f"d{k:02d}-{run}.bench.example" for k in range(args.domains)]
    throttled = domains[: args.throttled]
    per_domain = args.messages // args.domains
    n = per_domain * args.domains
    env = load_env()
    store = Path(tempfile.mkdtemp(prefix="bench-shaping-"))
    schema = f"bench_shaping_{run}"
    sink, api, smtp_port = start_sink(store, throttled, args.limit)
    namespace = ""
    try:
        async with kafka_namespace(env["KAFKA_BOOTSTRAP_SERVERS"], "bench") as namespace:
            env.update(KAFKA_NAMESPACE=namespace, DATABASE_SCHEMA=schema, SMTP_HOST="127.0.0.1",
                       SMTP_PORT=str(smtp_port), LOG_LEVEL="WARNING")  # fmt: skip
            c, rs = bulk(n, domains)
            log(f"pre-loading {n} RecipientResolved over {len(domains)} domains")
            await publish_stream(env["KAFKA_BOOTSTRAP_SERVERS"], namespace, c, rs)
            del rs
            log(f"delivering; {', '.join(throttled)} accept {args.limit}/s, then 421")
            delivery = start_delivery(env)
            try:
                started, finished, stats = await follow(api, domains, per_domain, delivery)
            finally:
                delivery.stop(60)
            states = await ledger_states(env["DATABASE_URL"], schema)
    finally:
        sink.terminate()
        sink.wait(30)
        shutil.rmtree(store, ignore_errors=True)
        await drop_schema(env["DATABASE_URL"], schema)
        await clear_redis(env, namespace)

    accepted = sum(stats["domains"][d]["accepted"] for d in domains)
    total = max(finished.values()) - started
    fast = [finished[d] - started for d in domains if d not in throttled]
    slow = [finished[d] - started for d in throttled]
    figures: dict[str, Any] = {
        "shaping.messages": n,
        "shaping.domains": len(domains),
        "shaping.total_s": round(total, 1),
        "shaping.msgs_per_s": round(n / total, 1),
        "shaping.lost": n - states.get("sent", 0),
        "shaping.duplicates": accepted - states.get("sent", 0),
        "shaping.fast_finished_s": round(max(fast, default=0.0), 1),
        "shaping.throttled_finished_s": round(max(slow, default=0.0), 1),
        "shaping.throttled_limit_msgs_per_s": args.limit,
        "shaping.refused_421": sum(
            stats["domains"][d].get("refused", {}).get("421", 0) for d in throttled
        ),
    }
    for k, domain in enumerate(domains):
        label = f"throttled{k}" if domain in throttled else f"d{k:02d}"
        figures[f"shaping.{label}.msgs_per_s"] = round(per_domain / (finished[domain] - started), 1)
    log(f"ledger: {states}")
    print(json.dumps(figures))


async def clear_redis(env: dict[str, str], namespace: str) -> None:
    if not namespace:
        return
    from redis.asyncio import Redis

    async with Redis.from_url(env["REDIS_URL"]) as redis:
        keys = [k async for k in redis.scan_iter(f"{namespace}delivery:*")]
        if keys:
            await redis.delete(*keys)


if __name__ == "__main__":
    asyncio.run(main())
