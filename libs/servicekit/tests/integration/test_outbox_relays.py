"""Two outbox relays on one table, as two instances of a service run them: every row is
published once, and the rows of one key in the order they were written."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence

from servicekit import outbox
from servicekit.db import migrate, open_pool
from servicekit.kafka import Record
from servicekit.loops import running

KEYS = 6
ROWS_PER_KEY = 60


class SlowPublisher:
    """Kafka as a relay sees it, slow enough for a second relay to overtake the first;
    records what was published, in publishing order."""

    def __init__(self) -> None:
        self.published: list[bytes] = []
        self.batches_by: dict[str, int] = defaultdict(int)
        self.at_once = self.most_at_once = 0
        self._random = random.Random(7)

    def named(self, relay: str) -> _Named:
        return _Named(self, relay)

    async def publish(self, relay: str, records: Sequence[Record]) -> None:
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            await asyncio.sleep(self._random.uniform(0.0, 0.02))
            self.batches_by[relay] += 1
            self.published.extend(r.value for r in records)
        finally:
            self.at_once -= 1


class _Named:
    def __init__(self, publisher: SlowPublisher, relay: str) -> None:
        self._publisher, self._relay = publisher, relay

    async def publish_records(self, records: Sequence[Record]) -> None:
        await self._publisher.publish(self._relay, records)


async def write_key(pool, key: int) -> None:
    """One key's rows, each in a transaction of its own, one after the other (as the state
    changes of one aggregate are written: under its row lock)."""
    for seq in range(ROWS_PER_KEY):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO outbox (topic, key, payload) VALUES ('t', $1, $2)",
                str(key).encode(),
                f"{key}:{seq}".encode(),
            )
        if seq % 10 == 0:
            await asyncio.sleep(0.005)


async def pending(pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def test_two_relays_publish_each_row_once_and_each_key_in_order(stack, pg_schema, tmp_path):
    await migrate(stack.database_url, pg_schema, tmp_path, library=outbox.MIGRATIONS)
    writers_pool = await open_pool(stack.database_url, pg_schema)
    pool_a = await open_pool(stack.database_url, pg_schema)
    pool_b = await open_pool(stack.database_url, pg_schema)
    kafka = SlowPublisher()
    relay_a = outbox.OutboxRelay(pool_a, kafka.named("a"), batch_size=7)
    relay_b = outbox.OutboxRelay(pool_b, kafka.named("b"), batch_size=7)
    try:
        async with running(relay_a.loop(idle_delay=0.005), relay_b.loop(idle_delay=0.005)):
            await asyncio.gather(*(write_key(writers_pool, key) for key in range(KEYS)))
            for _ in range(600):
                if await pending(writers_pool) == 0:
                    break
                await asyncio.sleep(0.05)
        assert await pending(writers_pool) == 0
    finally:
        for pool in (writers_pool, pool_a, pool_b):
            await pool.close()

    published = [p.decode() for p in kafka.published]
    assert len(published) == len(set(published)) == KEYS * ROWS_PER_KEY, "a row published twice"
    per_key: dict[str, list[int]] = defaultdict(list)
    for item in published:
        key, seq = item.split(":")
        per_key[key].append(int(seq))
    for key, seqs in per_key.items():
        assert seqs == sorted(seqs), f"key {key} out of order: {seqs}"
    # Both relays took part (the lock passes between them), yet never at the same time.
    assert kafka.batches_by["a"] and kafka.batches_by["b"], dict(kafka.batches_by)
    assert kafka.most_at_once == 1
