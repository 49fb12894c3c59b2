"""The whole service against real Kafka, PostgreSQL and SMTP (its own topics and schema)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import aiosmtplib
import asyncpg
import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from tracking_tests_fakes import dsn

from contracts import Bounced, BounceKind, Clicked, Opened, Unsubscribed, decode
from contracts.topics import TOPICS
from servicekit.tokens import Claims, Kind, TokenCodec
from tracking.__main__ import config, listen
from tracking.adapters.postgres import PostgresMailStore
from tracking.domain import PIXEL
from tracking.fastpath import HitFastPath
from tracking.front import PortSplit
from tracking.main import create_app
from tracking.settings import Settings

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}


@dataclass
class Running:
    base: str
    internal: str
    smtp_port: int
    namespace: str
    schema: str
    kafka: str
    tokens: TokenCodec

    def sign(
        self,
        kind: Kind,
        message_id: uuid.UUID | None = None,
        url: str | None = None,
        sent: float | None = None,
    ) -> tuple[str, Claims]:
        claims = Claims(
            kind,
            int(sent if sent is not None else time.time() - 3600),
            uuid.uuid4(),
            uuid.uuid4(),
            message_id or uuid.uuid4(),
            uuid.uuid4(),
            uuid.uuid4(),
            url=url,
        )
        return self.tokens.sign(claims), claims


@pytest.fixture
async def service(stack, kafka_namespace, pg_schema):
    settings = Settings(
        kafka_bootstrap_servers=stack.kafka,
        database_url=stack.database_url,
        kafka_namespace=kafka_namespace,
        database_schema=pg_schema,
        token_secret=stack.token_secret,
        bounce_smtp_port=0,
    )
    sock, internal = listen("127.0.0.1", 0), listen("127.0.0.1", 0)
    app = PortSplit(HitFastPath(create_app(settings)), internal.getsockname()[1])
    server = uvicorn.Server(config(settings, app, loop="asyncio", workers=None))
    serving = asyncio.create_task(server.serve(sockets=[sock, internal]))
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.05)
    state = server.lifespan.state
    try:
        yield Running(
            base=f"http://127.0.0.1:{sock.getsockname()[1]}",
            internal=f"http://127.0.0.1:{internal.getsockname()[1]}",
            smtp_port=state["bounce_port"],
            namespace=kafka_namespace,
            schema=pg_schema,
            kafka=stack.kafka,
            tokens=state["ports"].tokens,
        )
    finally:
        server.should_exit = True
        await serving


async def end_offsets(service: Running, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=service.kafka)
    await consumer.start()
    try:
        count = next(t.partitions for t in TOPICS if t.name == topic)
        partitions = [TopicPartition(service.namespace + topic, p) for p in range(count)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def consume(service: Running, topic: str, count: int, timeout: float = 15.0):
    consumer = AIOKafkaConsumer(
        service.namespace + topic,
        bootstrap_servers=service.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_a_pixel_is_in_kafka_before_its_response(service):
    token, claims = service.sign(Kind.OPEN)
    before = await end_offsets(service, Opened.topic)
    async with httpx.AsyncClient(base_url=service.base) as client:
        response = await client.get(f"/o/{token}", headers=BROWSER)
    assert (response.status_code, response.content) == (200, PIXEL)
    assert await end_offsets(service, Opened.topic) == before + 1  # no waiting: acked already
    [record] = await consume(service, Opened.topic, 1)
    event = decode(record.value, Opened)
    assert (event.message_id, event.customer_id, event.tenant_id) == (
        claims.message_id,
        claims.customer_id,
        claims.tenant_id,
    )
    assert event.user_agent == BROWSER["User-Agent"] and not event.machine
    assert record.key == claims.message_id.bytes
    assert dict(record.headers)["event_type"] == b"Opened"


async def test_one_messages_clicks_share_a_partition_in_order(service):
    message_id = uuid.uuid4()
    urls = [f"https://shop.example/item/{i}" for i in range(6)]
    async with httpx.AsyncClient(base_url=service.base) as client:
        for url in urls:
            token, _ = service.sign(Kind.CLICK, message_id, url=url)
            response = await client.get(f"/c/{token}", headers=BROWSER)
            assert (response.status_code, response.headers["location"]) == (302, url)
    records = await consume(service, Clicked.topic, len(urls))
    partitions = sorted({r.partition for r in records})
    expected = DefaultPartitioner()(message_id.bytes, list(range(6)), list(range(6)))
    assert partitions == [expected]
    assert [decode(r.value, Clicked).url for r in records] == urls


async def test_concurrent_hits_all_land(service):
    tokens = [service.sign(Kind.OPEN)[0] for _ in range(300)]
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=service.base, limits=limits) as client:
        responses = await asyncio.gather(*(client.get(f"/o/{t}", headers=BROWSER) for t in tokens))
    assert {r.status_code for r in responses} == {200}
    assert await end_offsets(service, Opened.topic) == 300


async def test_machine_hits_are_flagged(service):
    token, _ = service.sign(Kind.CLICK, url="https://shop.example/", sent=time.time())
    async with httpx.AsyncClient(base_url=service.base) as client:
        await client.get(f"/c/{token}", headers=BROWSER)
        await client.get(
            f"/o/{service.sign(Kind.OPEN)[0]}",
            headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"},
        )
    [click] = await consume(service, Clicked.topic, 1)
    [open_] = await consume(service, Opened.topic, 1)
    assert decode(click.value, Clicked).machine_reason == "fast_click"
    assert decode(open_.value, Opened).machine_reason == "image_proxy:google"


async def test_get_never_unsubscribes_but_one_click_post_does(service):
    token, claims = service.sign(Kind.UNSUBSCRIBE)
    async with httpx.AsyncClient(base_url=service.base) as client:
        for _ in range(3):
            assert (await client.get(f"/u/{token}")).status_code == 200
        assert await end_offsets(service, Unsubscribed.topic) == 0
        response = await client.post(
            f"/u/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 200
    [record] = await consume(service, Unsubscribed.topic, 1)
    event = decode(record.value, Unsubscribed)
    assert (event.customer_id, event.method) == (claims.customer_id, "one_click")
    assert record.key == claims.customer_id.bytes


async def _send_mail(service: Running, raw: bytes, rcpt: str) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=service.smtp_port) as smtp:
        errors, reply = await smtp.sendmail("", [rcpt], raw)  # MAIL FROM:<>, like a DSN
    assert errors == {} and reply.startswith("2.0.0")


def _return_path(service: Running) -> tuple[str, uuid.UUID, uuid.UUID]:
    tenant, message = uuid.uuid4(), uuid.uuid4()
    return f"{service.tokens.sign_bounce(tenant, message)}@bounces.example.com", tenant, message


async def test_dsn_to_the_return_path_becomes_a_hard_bounce(service):
    rcpt, tenant, message = _return_path(service)
    await _send_mail(service, dsn("gone@example.org", to=rcpt), rcpt)
    [record] = await consume(service, Bounced.topic, 1)
    event = decode(record.value, Bounced)
    assert (event.tenant_id, event.message_id, event.email) == (tenant, message, "gone@example.org")
    assert (event.kind, event.enhanced_status, event.source) == (BounceKind.HARD, "5.1.1", "dsn")


async def test_temporary_failure_dsn_becomes_a_soft_bounce(service):
    rcpt, _, _ = _return_path(service)
    raw = dsn("full@example.org", status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full")
    await _send_mail(service, raw, rcpt)
    [record] = await consume(service, Bounced.topic, 1)
    assert decode(record.value, Bounced).kind is BounceKind.SOFT


async def test_mail_that_is_no_dsn_is_stored_and_purged_after_the_retention(service, stack):
    rcpt, _, _ = _return_path(service)
    await _send_mail(service, b"Subject: Out of office\r\n\r\nBack on Monday.\r\n", rcpt)
    conn = await asyncpg.connect(stack.database_url)
    try:
        table = f"{service.schema}.inbound_mail"
        rows = await conn.fetch(f"SELECT reason, rcpt_tos, raw FROM {table} ORDER BY id")
        assert [(r["reason"], r["rcpt_tos"]) for r in rows] == [("not_dsn", [rcpt])]
        assert b"Back on Monday." in rows[0]["raw"]
        await conn.execute(
            f"INSERT INTO {table} (reason, mail_from, rcpt_tos, raw, received_at) "
            "SELECT 'not_dsn', '', '{}', 'old', now() - make_interval(days => d) "
            "FROM generate_series(15, 17) AS d"
        )
        await conn.execute(f"SET search_path TO {service.schema}")
        store = PostgresMailStore(conn)  # a connection does what the pool does here
        assert await store.purge(older_than_days=14, limit=2) == 2
        assert await store.purge(older_than_days=14, limit=2) == 1
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 1
    finally:
        await conn.close()
    assert await end_offsets(service, Bounced.topic) == 0


async def test_recipients_without_a_bounce_token_are_refused_and_nothing_is_stored(service, stack):
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=service.smtp_port) as smtp:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await smtp.sendmail("", ["postmaster@bounces.example.com"], dsn("x@example.org"))
    [error] = refused.value.recipients
    assert error.code == 550 and error.message.startswith("5.1.1 ")
    conn = await asyncpg.connect(stack.database_url)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {service.schema}.inbound_mail") == 0
    finally:
        await conn.close()


async def test_health_and_metrics(service):
    async with httpx.AsyncClient(base_url=service.base) as client:
        await client.get("/o/forged")
        health = await client.get("/healthz")
        assert (await client.get("/metrics")).status_code == 404, "not on the public port"
    async with httpx.AsyncClient(base_url=service.internal) as client:
        metrics = (await client.get("/metrics")).text
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert 'tracking_rejected_tokens_total{kind="open"}' in metrics
    assert "kafka_publish_seconds_bucket" in metrics and "tracking_hits_total" in metrics
