"""Migrations, the outbox relay, subscriptions and dead letters, and the sandboxes, against
the real PostgreSQL and Kafka."""

import asyncio
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from prometheus_client import REGISTRY

from contracts import (
    Address,
    CampaignScheduled,
    Opened,
    RecipientResolved,
    RecipientSpec,
    StaffMember,
    decode,
    topics,
)
from servicekit import outbox
from servicekit.db import migrate, open_pool
from servicekit.kafka import (
    Batch,
    EventPublisher,
    Record,
    Subscription,
    event_record,
    kafka_bus,
    producing,
)
from servicekit.kafka.admin import admin_client, namespace_topics
from servicekit.settings import ServiceSettings
from testkit.sandbox import kafka_namespace as sandbox_namespace
from testkit.sandbox import pg_schema as sandbox_schema


def opened() -> Opened:
    return Opened(
        tenant_id=uuid.uuid4(),
        campaign_id=uuid.uuid4(),
        message_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        notify_user_id=uuid.uuid4(),
    )


async def read_all(bootstrap: str, topic: str, expected: int, within: float = 20.0) -> list:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        count = next(t.partitions for t in topics.all_topics() if topic.endswith(t.name))
        partitions = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list = []
        deadline = asyncio.get_running_loop().time() + within
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


def settings_of(stack, namespace: str) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap_servers=stack.kafka, kafka_namespace=namespace)


def consumed(topic: str) -> float:
    return REGISTRY.get_sample_value("events_consumed_total", {"topic": topic}) or 0.0


async def test_migrations_apply_once_even_when_started_twice_at_once(stack, pg_schema, tmp_path):
    (tmp_path / "0001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (tmp_path / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    first, second = await asyncio.gather(
        migrate(stack.database_url, pg_schema, tmp_path, library=outbox.MIGRATIONS),
        migrate(stack.database_url, pg_schema, tmp_path, library=outbox.MIGRATIONS),
    )
    assert sorted(first + second) == [
        "0000_outbox.sql",
        "0000_outbox_event_type.sql",
        "0001_things.sql",
        "0002_more.sql",
    ]
    assert await migrate(stack.database_url, pg_schema, tmp_path) == []
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(f"INSERT INTO {pg_schema}.things (id, name) VALUES (1, 'x')")
    finally:
        await conn.close()


async def test_outbox_rows_reach_kafka_once_committed_and_only_then(
    stack, pg_schema, kafka_namespace, tmp_path
):
    await migrate(stack.database_url, pg_schema, tmp_path, library=outbox.MIGRATIONS)
    pool = await open_pool(stack.database_url, pg_schema)
    try:
        kept, rolled_back = [opened() for _ in range(5)], opened()
        async with pool.acquire() as conn:
            async with conn.transaction():
                await outbox.enqueue(conn, kept)
            tx = conn.transaction()
            await tx.start()
            await outbox.enqueue(conn, [rolled_back])
            await tx.rollback()

        async with producing(stack.kafka, client_id="outbox-test", namespace=kafka_namespace) as s:
            relay = outbox.OutboxRelay(pool, EventPublisher(s))
            assert await relay.publish_pending() == 5
            assert await relay.publish_pending() == 0

        records = await read_all(stack.kafka, kafka_namespace + topics.OPENED, expected=5)
        got = {decode(r.value, Opened).event_id for r in records}
        assert got == {e.event_id for e in kept}
        assert all(dict(r.headers)["event_type"] == b"Opened" for r in records)
    finally:
        await pool.close()


async def test_one_undecodable_record_parks_itself_and_its_batch_goes_on(stack, kafka_namespace):
    settings = settings_of(stack, kafka_namespace)
    seen: list[Opened] = []

    async def on_opens(events: list[Opened], _: object) -> None:
        seen.extend(events)

    subscription = Subscription(topics.OPENED, Opened, on_opens, "opens", batch=True)
    before, good = consumed(topics.OPENED), [opened(), opened()]
    async with kafka_bus(settings, service="dlt-test") as bus:
        # Same key, same partition: the poison record sits between the good ones.
        await bus.publish_records([Record(topics.OPENED, good[0].partition_key(), b"{not json")])
        await bus.publish([e.model_copy(update={"message_id": good[0].message_id}) for e in good])
        async with bus.consuming([subscription], None):
            for _ in range(300):
                if len(seen) == 2:
                    break
                await asyncio.sleep(0.1)
    assert {e.event_id for e in seen} == {e.event_id for e in good}
    assert consumed(topics.OPENED) - before == 2, "counted once the handler succeeded"
    parked = await read_all(stack.kafka, kafka_namespace + topics.dead_letter(topics.OPENED), 1)
    assert [r.value for r in parked] == [b"{not json"]
    assert dict(parked[0].headers)["x-source-topic"] == topics.OPENED.encode()


async def test_a_manual_subscription_sees_positions_and_several_event_types(stack, kafka_namespace):
    settings = settings_of(stack, kafka_namespace)
    tenant = uuid.uuid4()
    campaign = CampaignScheduled(
        tenant_id=tenant,
        campaign_id=uuid.uuid4(),
        subject="s",
        recipients=RecipientSpec(),
        sender=Address(email="a@example.com"),
        operator=StaffMember(user_id=uuid.uuid4(), email="o@example.com"),
        notify_user_id=uuid.uuid4(),
    )
    recipient = RecipientResolved(
        tenant_id=tenant,
        campaign_id=campaign.campaign_id,
        message_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        email="c@example.com",
        sender=campaign.sender,
        notify_user_id=campaign.notify_user_id,
    )
    batches: list[Batch] = []

    async def on_stream(batch: Batch, _: object) -> None:
        batches.append(batch)

    subscription = Subscription(
        topics.RECIPIENT_RESOLVED, (CampaignScheduled, RecipientResolved), on_stream, "stream",
        manual=True,
    )  # fmt: skip
    async with kafka_bus(settings, service="manual-test") as bus:
        stream = topics.RECIPIENT_RESOLVED
        await bus.publish_records(
            [event_record(e, partition=0, topic=stream) for e in (campaign, recipient)]
        )
        async with bus.consuming([subscription], None):
            for _ in range(300):
                if sum(len(b.received) for b in batches) == 2:
                    break
                await asyncio.sleep(0.1)
    received = [r for b in batches for r in b.received]
    assert [type(r.event) for r in received] == [CampaignScheduled, RecipientResolved]
    assert [(r.topic, r.partition, r.offset) for r in received] == [(stream, 0, 0), (stream, 0, 1)]
    assert batches[-1].consumer is not None


async def test_sandboxes_leave_no_topic_no_group_and_no_schema_behind(stack):
    async def nothing(_: object, __: object) -> None:
        return None

    async with (
        sandbox_namespace(stack.kafka) as namespace,
        sandbox_schema(stack.database_url) as schema,
    ):
        await migrate(stack.database_url, schema, Path("/nonexistent"))
        async with kafka_bus(settings_of(stack, namespace), service="sandbox-test") as bus:
            await bus.publish([opened()])
            async with bus.consuming([Subscription(topics.OPENED, Opened, nothing, "x")], None):
                await asyncio.sleep(3)
        assert await namespace_topics(stack.kafka, namespace)
    assert await namespace_topics(stack.kafka, namespace) == []
    async with admin_client(stack.kafka) as admin:
        listed = await admin.list_consumer_groups()
    groups = [g[0] if isinstance(g, tuple) else g["group_id"] for g in listed]
    assert not [g for g in groups if g.startswith(namespace)]
    conn = await asyncpg.connect(stack.database_url)
    try:
        assert not await conn.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema
        )
    finally:
        await conn.close()
