"""Recipients benchmark: bulk import and audience resolution of 1,000,000 customers.

    uv run --frozen python bench/bench_recipients.py [--customers N]

Runs beside the stack (endpoints from .local/env) on its own Kafka namespace and PostgreSQL
schema, and removes both afterwards. The service runs as a real process
(`python -m recipients`); API keys are answered by a stand-in for the composer's
introspection endpoint served by this script.

1. `recipients.import_1m_s`: one POST /v1/customers/import streaming a CSV of N customers
   (names, company, an attribute, an owner for a third of them), until the report arrives.
2. Setup, not measured: 15 groups — 10 to include (every customer in one of them, a fifth
   also in a second one), 5 to exclude (0.5 % of the customers each, overlapping the
   included ones) — then 2 % of the customers unsubscribed and 1 % bounced.
3. A fresh service process resolves a campaign over the 15 groups, sent as owner, with
   five merge fields. `recipients.resolve_1m_s` is the service's own measure (its
   `recipients_resolution_seconds`): from CampaignScheduled consumed to the last
   RecipientResolved acknowledged by Kafka and the AudienceResolved after it.
   `recipients.peak_rss_mb` is that process's VmHWM.

Prints a JSON object with those figures (and details) as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from benchkit import ROOT, cpu_seconds, load_env, peak_rss_mb
from fastapi import FastAPI, HTTPException

from contracts import (
    Address,
    AudienceResolved,
    CampaignScheduled,
    RecipientSpec,
    StaffMember,
    decode,
    encode,
    topics,
)
from testkit.processes import ServiceProcess, free_port
from testkit.sandbox import kafka_namespace, pg_schema

TENANT = uuid.uuid4()
STAFF = [
    StaffMember(
        user_id=uuid.uuid4(), name=f"担当 {n}", email=f"staff{n}@acme.example", signature=f"s{n}"
    )
    for n in range(5)
]
MERGE_FIELDS = ["last_name", "full_name", "company", "attr.plan", "sender_name"]


class KeyServer:
    """Stands in for the composer: POST /v1/auth/introspect (every key is an admin of
    TENANT) and GET /v1/users/{id} (the staff of STAFF are its users: owners check out)."""

    def __init__(self) -> None:
        self.port = free_port()
        app = FastAPI()

        @app.post("/v1/auth/introspect")
        async def introspect() -> dict[str, str]:
            return {"tenant_id": str(TENANT), "user_id": str(STAFF[0].user_id), "role": "admin"}

        staff = {str(s.user_id): s for s in STAFF}

        @app.get("/v1/users/{user_id}")
        async def user(user_id: str) -> dict[str, str]:
            if user_id not in staff:
                raise HTTPException(404, detail="no such user")
            return {"id": user_id, "name": staff[user_id].name, "email": staff[user_id].email}

        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> KeyServer:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task


def recipients(env: dict[str, str], namespace: str, schema: str, key_port: int) -> ServiceProcess:
    """`python -m recipients` on the benchmark's namespace, schema and port."""
    settings = {
        "kafka_namespace": namespace,
        "database_schema": schema,
        "composer_url": f"http://127.0.0.1:{key_port}",
        # One file of every customer: past 2M rows that is more than the default cap
        # of an import body (200 MiB), which a tenant would split or an operator raise.
        "import_max_bytes": 1 << 30,
    }
    log = ROOT / ".local" / "logs" / f"bench-recipients-{namespace}log"
    return ServiceProcess("recipients", settings, log, base=env)


async def csv_body(customers: int) -> AsyncIterator[bytes]:
    yield b"email,last_name,first_name,company,owner_user_id,attr.plan\n"
    owners = [str(s.user_id) for s in STAFF]
    for start in range(0, customers, 10_000):
        rows = [
            f"user{n}@example.com,山田,太郎{n},Company {n % 1000},"
            f"{owners[n % 5] if n % 3 == 0 else ''},{'gold' if n % 2 else 'silver'}\n"
            for n in range(start, min(start + 10_000, customers))
        ]
        yield "".join(rows).encode()


async def import_customers(service: ServiceProcess, customers: int) -> tuple[float, dict[str, Any]]:
    headers = {"Authorization": "Bearer bm_bench_key", "Content-Type": "text/csv"}
    async with httpx.AsyncClient(timeout=600) as http:
        started = time.perf_counter()
        response = await http.post(
            service.url + "/v1/customers/import", content=csv_body(customers), headers=headers
        )
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


async def create_groups(service: ServiceProcess) -> list[uuid.UUID]:
    headers = {"Authorization": "Bearer bm_bench_key"}
    async with httpx.AsyncClient() as http:
        ids = []
        for n in range(15):
            response = await http.post(
                service.url + "/v1/groups", json={"name": f"group {n}"}, headers=headers
            )
            response.raise_for_status()
            ids.append(uuid.UUID(response.json()["id"]))
    return ids


async def fill_groups_and_suppress(database_url: str, schema: str, groups: list[uuid.UUID]) -> None:
    """Memberships and suppression flags, set-based (setup, not measured)."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        await conn.execute(
            """
            INSERT INTO group_members (tenant_id, group_id, customer_id)
            SELECT c.tenant_id, ($2::uuid[])[1 + h % 10], c.id
            FROM (SELECT *, abs(hashtext(email)) AS h FROM customers WHERE tenant_id = $1) c
            UNION ALL
            SELECT c.tenant_id, ($2::uuid[])[1 + (h + 1) % 10], c.id
            FROM (SELECT *, abs(hashtext(email)) AS h FROM customers WHERE tenant_id = $1) c
            WHERE h % 5 = 0
            UNION ALL
            SELECT c.tenant_id, ($2::uuid[])[11 + h % 5], c.id
            FROM (SELECT *, abs(hashtext(email || 'x')) AS h FROM customers WHERE tenant_id = $1) c
            WHERE h % 200 = 0
            """,
            TENANT,
            groups,
        )
        await conn.execute(
            "UPDATE customers SET unsubscribed_at = now()"
            " WHERE abs(hashtext(email || 'u')) % 100 < 2"
        )
        await conn.execute(
            "UPDATE customers SET bounced_at = now() WHERE abs(hashtext(email || 'b')) % 100 < 1"
        )
        await conn.execute("VACUUM ANALYZE customers")
        await conn.execute("VACUUM ANALYZE group_members")
    finally:
        await conn.close()


async def resolve(
    service: ServiceProcess, bootstrap: str, namespace: str, groups: list[uuid.UUID]
) -> tuple[float, AudienceResolved]:
    event = CampaignScheduled(
        tenant_id=TENANT,
        campaign_id=uuid.uuid4(),
        subject="{{ last_name }} 様",
        text_body="{{ full_name }} 様 ({{ company }}, {{ attr.plan }}) — {{ sender_name }}",
        merge_fields=MERGE_FIELDS,
        recipients=RecipientSpec(include_group_ids=groups[:10], exclude_group_ids=groups[10:]),
        sender=Address(name=STAFF[0].name, email=STAFF[0].email),
        sender_user_id=STAFF[0].user_id,
        send_as_owner=True,
        operator=STAFF[0],
        notify_user_id=STAFF[0].user_id,
        staff=STAFF,
    )
    consumer = AIOKafkaConsumer(
        namespace + topics.AUDIENCE_RESOLVED,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        started = time.perf_counter()
        await producer.send_and_wait(
            namespace + event.topic,
            encode(event),
            key=event.partition_key(),
            headers=[("content-type", b"application/json")],
        )
        async for record in consumer:
            summary = decode(record.value, AudienceResolved)
            if summary.campaign_id == event.campaign_id:
                return time.perf_counter() - started, summary
    finally:
        await producer.stop()
        await consumer.stop()
    raise RuntimeError("no AudienceResolved")


async def service_resolution_seconds(service: ServiceProcess) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(service.url + "/metrics")).text
    match = re.search(r"^recipients_resolution_seconds_sum ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, "no recipients_resolution_seconds in /metrics"
    return float(match.group(1))


async def records_on(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        count = next(t.partitions for t in topics.TOPICS if topic.endswith(t.name))
        partitions = [TopicPartition(topic, p) for p in range(count)]
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[p] - starts[p] for p in partitions)
    finally:
        await consumer.stop()


async def main(customers: int) -> dict[str, Any]:
    env = load_env()
    bootstrap, database_url = env["KAFKA_BOOTSTRAP_SERVERS"], env["DATABASE_URL"]
    figures: dict[str, Any] = {"recipients.customers": customers}
    async with (
        kafka_namespace(bootstrap, "bench") as namespace,
        pg_schema(database_url, "bench_") as schema,
    ):
        async with KeyServer() as keys:
            importer = recipients(env, namespace, schema, keys.port)
            importer.start()
            await importer.wait_healthy()
            try:
                elapsed, report = await import_customers(importer, customers)
                figures["recipients.import_1m_s"] = round(elapsed, 2)
                figures["recipients.import_inserted"] = report["inserted"]
                figures["recipients.import_peak_rss_mb"] = peak_rss_mb(importer.pid)
                groups = await create_groups(importer)
            finally:
                importer.stop()
            await fill_groups_and_suppress(database_url, schema, groups)

            resolver = recipients(env, namespace, schema, keys.port)
            resolver.start()
            await resolver.wait_healthy()
            try:
                cpu_before = cpu_seconds(resolver.pid)
                wall, summary = await resolve(resolver, bootstrap, namespace, groups)
                figures["recipients.resolve_cpu_s"] = round(
                    cpu_seconds(resolver.pid) - cpu_before, 2
                )
                figures["recipients.resolve_1m_s"] = round(
                    await service_resolution_seconds(resolver), 2
                )
                figures["recipients.peak_rss_mb"] = peak_rss_mb(resolver.pid)
            finally:
                resolver.stop()
        figures["recipients.resolve_wall_s"] = round(wall, 2)
        figures["recipients.audience"] = summary.recipients
        for reason, count in summary.excluded.items():
            figures[f"recipients.excluded_{reason}"] = count
        published = await records_on(bootstrap, namespace + topics.RECIPIENT_RESOLVED)
        figures["recipients.published_records"] = published
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.customers))))
