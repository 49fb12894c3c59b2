"""Notifier benchmark: ingest of 1,000,000 Opened/Clicked events, then all digests sent.

    uv run --frozen python bench/bench_notifier.py [--events N] [--users N] [--processes N]

Runs beside the stack (endpoints from .local/env) on its own Kafka namespace, PostgreSQL
schema and Redis key prefix, with its own Postfix `smtp-sink` on a free port, and removes
all of it afterwards. The notifier runs as a real process (`python -m notifier`).

1. 100 campaigns (daily timings) with 100 staff members each (10,000 users) and their
   MessageSent directory are consumed by a first notifier process, which is then stopped.
2. The events are published while no notifier runs: for 30 % of the messages a first open;
   re-opens within the hour (30 % of all events: suppressed), re-opens after it (10 %),
   clicks (10 %), machine opens (20 %) — in time order, so each message's events keep theirs.
3. A second notifier process (or N of one consumer group) consumes them.
   `notifier.ingest_events_per_s` counts from the first hit stored to the last (process
   start-up and consumer-group join excluded).
4. `notifier.digest_s`: one POST /v1/admin/close-periods for the day's boundary, until every
   user's digest has been accepted by smtp-sink (one digest per user).

Prints a JSON object with `notifier.ingest_events_per_s` and `notifier.digest_s` (and
details) as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from benchkit import load_env, start_smtp_sink
from redis.asyncio import Redis

from contracts import (
    Address,
    CampaignScheduled,
    Clicked,
    MessageSent,
    Opened,
    RecipientSpec,
    StaffMember,
    decode,
    encode,
    topics,
)
from servicekit.kafka.admin import create_topics, delete_namespace
from testkit.processes import ServiceProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
TOKYO = ZoneInfo("Asia/Tokyo")
CAMPAIGNS = 100
PARTITIONS = {t.name: t.partitions for t in topics.TOPICS}


class Workload:
    """Campaigns, staff and messages; events as compact tuples, encoded while publishing."""

    def __init__(self, events: int, users: int, day: datetime, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.tenant = uuid.UUID(int=rng.getrandbits(128))
        self.users = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(users)]
        self.campaigns = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(CAMPAIGNS)]
        first = int(events * 0.3)
        self.messages = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(first)]
        start = day.timestamp()
        opened_at = [start + rng.uniform(0, 18 * 3600) for _ in range(first)]
        # (time, kind, message index); kinds: o open, m machine open, c click
        plan: list[tuple[float, str, int]] = [(opened_at[i], "o", i) for i in range(first)]
        for _ in range(int(events * 0.3)):  # re-opens within the hour: suppressed
            i = rng.randrange(first)
            plan.append((opened_at[i] + rng.uniform(60, 59 * 60), "o", i))
        for i in rng.sample(range(first), int(events * 0.1)):  # re-opens after two hours
            plan.append((opened_at[i] + rng.uniform(7200, 4 * 3600), "o", i))
        for _ in range(int(events * 0.1)):
            i = rng.randrange(first)
            plan.append((opened_at[i] + rng.uniform(5, 3600), "c", i))
        for _ in range(events - len(plan)):
            i = rng.randrange(first)
            plan.append((opened_at[i] + rng.uniform(-600, 3600), "m", i))
        plan.sort()
        self.plan = plan
        self.day = day

    def campaign_of(self, i: int) -> int:
        return i % CAMPAIGNS

    def user_of(self, i: int) -> uuid.UUID:
        per = len(self.users) // CAMPAIGNS
        c = self.campaign_of(i)
        return self.users[c * per + (i // CAMPAIGNS) % per]

    def scheduled(self) -> list[CampaignScheduled]:
        per = len(self.users) // CAMPAIGNS
        out = []
        for c, campaign in enumerate(self.campaigns):
            staff = [
                StaffMember(
                    user_id=u, name=f"担当者 {u.hex[:6]}", email=f"u{u.hex[:12]}@bench.example"
                )
                for u in self.users[c * per : (c + 1) * per]
            ]
            out.append(
                CampaignScheduled(
                    tenant_id=self.tenant,
                    occurred_at=self.day - timedelta(days=1),
                    campaign_id=campaign,
                    subject=f"ベンチマーク {c}",
                    recipients=RecipientSpec(),
                    sender=Address(name=staff[0].name, email=staff[0].email),
                    operator=staff[0],
                    notify_user_id=staff[0].user_id,
                    staff=staff,
                )
            )
        return out

    def sent(self) -> list[tuple[str, bytes, bytes]]:
        out = []
        for i, message in enumerate(self.messages):
            event = MessageSent(
                tenant_id=self.tenant,
                campaign_id=self.campaigns[self.campaign_of(i)],
                message_id=message,
                customer_id=message,
                email=f"c{i}@customer.example",
                name=f"顧客 {i}",
                notify_user_id=self.user_of(i),
            )
            out.append((topics.MESSAGE_SENT, message.bytes, encode(event)))
        return out

    def records(self) -> list[tuple[str, bytes, bytes]]:
        """Encoded by template: pydantic would take longer than the notifier's ingest."""
        tenant = str(self.tenant)
        out = []
        for n, (at, kind, i) in enumerate(self.plan):
            message = self.messages[i]
            topic = topics.CLICKED if kind == "c" else topics.OPENED
            body = (
                f'{{"event_id":"{uuid.UUID(int=n + 1)}","event_type":'
                f'"{"Clicked" if kind == "c" else "Opened"}","schema_version":1,'
                f'"occurred_at":"{datetime.fromtimestamp(at, UTC).isoformat()}",'
                f'"tenant_id":"{tenant}","campaign_id":"{self.campaigns[self.campaign_of(i)]}",'
                f'"message_id":"{message}","customer_id":"{message}",'
                f'"notify_user_id":"{self.user_of(i)}","user_agent":"Mozilla/5.0",'
                f'"machine":{"true" if kind == "m" else "false"}'
                + (',"url":"https://shop.example/sale"' if kind == "c" else "")
                + "}"
            )
            out.append((topic, message.bytes, body.encode()))
        # The template must stay a valid contract.
        for topic, _, value in out[:50]:
            decode(value, Clicked if topic == topics.CLICKED else Opened)
        return out


async def publish(bootstrap: str, namespace: str, records: list[tuple[str, bytes, bytes]]) -> None:
    """Fast path: batches built per partition (same message -> same partition, in order)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=20, max_batch_size=1024 * 1024
    )
    await producer.start()
    try:
        batches: dict[tuple[str, int], object] = {}
        pending = []
        for topic, key, value in records:
            partition = int.from_bytes(key[:4], "big") % PARTITIONS[topic]
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[(topic, partition)] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:  # type: ignore[attr-defined]
                pending.append(
                    await producer.send_batch(batch, namespace + topic, partition=partition)
                )
                batch = batches[(topic, partition)] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None)  # type: ignore[attr-defined]
        for (topic, partition), batch in batches.items():
            pending.append(await producer.send_batch(batch, namespace + topic, partition=partition))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


# ---------------------------------------------------------------- processes


def notifier(env: dict[str, str], name: str = "") -> ServiceProcess:
    """`python -m notifier` on the benchmark's settings; its log goes to .local/logs, not to
    our stdout (whose last line is the result)."""
    settings = {"internal_port": free_port(), "instance_id": env["INSTANCE_ID"] + name}
    log = ROOT / ".local" / "logs" / f"bench-notifier{name}.log"
    return ServiceProcess("notifier", settings, log, base=env)


async def wait_until(check, limit_s: float, every: float = 0.25) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish in time")
        await asyncio.sleep(every)


# ---------------------------------------------------------------- the run


async def run(events: int, users: int, processes: int = 1) -> dict[str, float | int]:
    env = load_env()
    tag = uuid.uuid4().hex[:8]
    namespace, schema, prefix = f"bench{tag}.", f"bench_notifier_{tag}", f"bench-notifier:{tag}:"
    smtp_port = free_port()
    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    database_url = env.get("DATABASE_URL", "postgresql://bulkmail:bulkmail@127.0.0.1:5432/bulkmail")
    redis_url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.update(
        KAFKA_NAMESPACE=namespace,
        DATABASE_SCHEMA=schema,
        REDIS_KEY_PREFIX=prefix,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        CLOSE_INTERVAL_S="86400",
        DIGEST_CONCURRENCY="8",
        LOG_LEVEL="WARNING",
        INSTANCE_ID=f"bench-{tag}",
    )
    day = datetime.now(TOKYO).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    first = notifier(env)
    # With --processes N, N processes of one consumer group ingest the events.
    others = [notifier(env, f"-{k}") for k in range(2, processes + 1)]
    pg = await asyncpg.connect(database_url)
    sink = start_smtp_sink(smtp_port)
    try:
        await create_topics(bootstrap, namespace)
        started = time.monotonic()
        work = Workload(events, users, day)
        directory = [
            (topics.CAMPAIGN_SCHEDULED, c.campaign_id.bytes, encode(c)) for c in work.scheduled()
        ]
        directory += work.sent()
        await publish(bootstrap, namespace, directory)
        first.start()
        await first.wait_healthy()
        await wait_until(lambda: _count(pg, schema, "messages", len(work.messages)), 600)
        await wait_until(lambda: _count(pg, schema, "campaigns", CAMPAIGNS), 60)
        first.stop()

        records = work.records()
        del work.plan
        t = time.monotonic()
        await publish(bootstrap, namespace, records)
        publish_s = time.monotonic() - t
        del records
        progress = f"setup {t - started:.0f} s, {events} events published in {publish_s:.1f} s"
        print(f"bench notifier: {progress}", file=sys.stderr)

        for process in [first, *others]:
            process.start()
        await asyncio.gather(*(process.wait_healthy() for process in [first, *others]))
        await wait_until(lambda: _hits(pg, schema, 1), 300, every=0.05)
        first_seen = time.monotonic()
        # Hits are seen once their batch commits: the rate counts those stored after that.
        seen_first = await _stored(pg, schema)
        await wait_until(lambda: _hits(pg, schema, events), 1800, every=0.25)
        ingest_s = time.monotonic() - first_seen

        t = time.monotonic()
        async with httpx.AsyncClient(timeout=1800) as client:
            response = await client.post(
                f"{first.url}/v1/admin/close-periods",
                json={"as_of": (day + timedelta(days=1)).isoformat(), "wait_s": 300},
            )
            response.raise_for_status()
            closed = response.json()
            digest_s = time.monotonic() - t
            stats = (await client.get(f"{first.url}/v1/admin/digests/stats")).json()
    finally:
        for process in [first, *others]:
            process.stop()
        sink.terminate()
        sink.wait()
        await _cleanup(pg, schema, redis_url, prefix, bootstrap, namespace)
        await pg.close()
    return {
        "notifier.ingest_events_per_s": round((events - seen_first) / ingest_s),
        "notifier.digest_s": round(digest_s, 2),
        "notifier.events": events,
        "notifier.processes": processes,
        "notifier.ingest_s": round(ingest_s, 2),
        "notifier.digests": closed["sent"],
        "notifier.digests_claimed": closed["claimed"],
        "notifier.suppressed_reopens": stats["suppressed_reopens"],
        "notifier.machine_events": stats["machine_events"],
        "notifier.first_opens": stats["first_opens"],
        "notifier.reopens": stats["reopens"],
        "notifier.clicks": stats["clicks"],
    }


async def _count(pg: asyncpg.Connection, schema: str, table: str, expected: int) -> bool:
    with suppress(asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        return bool(await pg.fetchval(f"SELECT count(*) FROM {schema}.{table}") >= expected)
    return False


async def _stored(pg: asyncpg.Connection, schema: str) -> int:
    # The counters move in the transaction that stores the hits; cheaper than count(*).
    return int(
        await pg.fetchval(
            f"SELECT coalesce(sum(value), 0) FROM {schema}.counters WHERE name <> 'digests_sent'"
        )
    )


async def _hits(pg: asyncpg.Connection, schema: str, expected: int) -> bool:
    return await _stored(pg, schema) >= expected


async def _cleanup(
    pg: asyncpg.Connection, schema: str, redis_url: str, prefix: str, bootstrap: str, namespace: str
) -> None:
    await pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    redis = Redis.from_url(redis_url)
    try:
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=prefix + "*", count=5000):
            batch.append(key)
            if len(batch) >= 5000:
                await redis.unlink(*batch)
                batch = []
        if batch:
            await redis.unlink(*batch)
    finally:
        await redis.aclose()
    await delete_namespace(bootstrap, namespace)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=1, help="notifier processes ingesting")
    args = parser.parse_args()
    result = asyncio.run(run(args.events, args.users, args.processes))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
