"""Migrations, the outbox relay and dead letters against the real PostgreSQL and Kafka."""

import asyncio
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from contracts import Opened, decode, topics
from servicekit import outbox
from servicekit.db import migrate, open_pool
from servicekit.kafka import KafkaPublisher, make_broker


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


async def test_migrations_apply_once_even_when_started_twice_at_once(stack, pg_schema, tmp_path):
    (tmp_path / "0001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (tmp_path / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    first, second = await asyncio.gather(
        migrate(stack.database_url, pg_schema, tmp_path, library=[outbox.MIGRATION]),
        migrate(stack.database_url, pg_schema, tmp_path, library=[outbox.MIGRATION]),
    )
    assert sorted(first + second) == ["0000_outbox.sql", "0001_things.sql", "0002_more.sql"]
    assert await migrate(stack.database_url, pg_schema, tmp_path) == []
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(f"INSERT INTO {pg_schema}.things (id, name) VALUES (1, 'x')")
    finally:
        await conn.close()


async def test_outbox_rows_reach_kafka_once_committed_and_only_then(
    stack, pg_schema, kafka_namespace, tmp_path
):
    await migrate(stack.database_url, pg_schema, tmp_path, library=[outbox.MIGRATION])
    pool = await open_pool(stack.database_url, pg_schema)
    broker = make_broker(stack.kafka, client_id="outbox-test")
    await broker.connect()
    try:
        kept, rolled_back = [opened() for _ in range(5)], opened()
        async with pool.acquire() as conn:
            async with conn.transaction():
                await outbox.enqueue(conn, kept)
            tx = conn.transaction()
            await tx.start()
            await outbox.enqueue(conn, [rolled_back])
            await tx.rollback()

        relay = outbox.OutboxRelay(pool, KafkaPublisher(broker, namespace=kafka_namespace))
        assert await relay.publish_pending() == 5
        assert await relay.publish_pending() == 0

        records = await read_all(stack.kafka, kafka_namespace + topics.OPENED, expected=5)
        got = {decode(r.value, Opened).event_id for r in records}
        assert got == {e.event_id for e in kept}
    finally:
        await broker.stop()
        await pool.close()


async def test_undecodable_message_is_dead_lettered_and_consumer_goes_on(stack, kafka_namespace):
    broker = make_broker(stack.kafka, client_id="dlt-test")
    seen: list[Opened] = []
    done = asyncio.Event()

    @broker.subscriber(
        kafka_namespace + topics.OPENED,
        group_id=kafka_namespace + "dlt-test",
        auto_offset_reset="earliest",
    )
    async def on_opened(event: Opened) -> None:
        seen.append(event)
        done.set()

    await broker.start()
    try:
        good = opened()
        await broker.publish(b"{not json", kafka_namespace + topics.OPENED, key=b"k")
        await KafkaPublisher(broker, namespace=kafka_namespace).publish([good])
        await asyncio.wait_for(done.wait(), 30)
        assert [e.event_id for e in seen] == [good.event_id]
        parked = await read_all(stack.kafka, kafka_namespace + topics.dead_letter(topics.OPENED), 1)
        assert [r.value for r in parked] == [b"{not json"]
        headers = dict(parked[0].headers)
        assert headers["x-source-topic"] == (kafka_namespace + topics.OPENED).encode()
    finally:
        await broker.stop()
