"""Transactional outbox: an event is written in the same transaction as the state change
that causes it, and a relay publishes it afterwards. A crash between commit and publish
loses nothing; a crash between publish and marking republishes, and consumers drop the
duplicate by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Protocol

import asyncpg
from prometheus_client import Counter, Gauge

from contracts import Event, encode

log = logging.getLogger(__name__)

PUBLISHED = Counter("outbox_published_total", "Outbox rows published to Kafka")
PENDING = Gauge("outbox_pending", "Outbox rows seen pending in the last relay pass")

MIGRATION = (
    "0000_outbox.sql",
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id           bigserial PRIMARY KEY,
        topic        text        NOT NULL,
        key          bytea,
        payload      bytea       NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE published_at IS NULL;
    """,
)


class RawPublisher(Protocol):
    async def publish_raw(self, records: list[tuple[str, bytes, bytes]]) -> None: ...


async def enqueue(conn: asyncpg.Connection, events: Iterable[Event]) -> None:
    """Add events to the outbox; call inside the transaction that makes them true."""
    rows = [(e.topic, e.partition_key(), encode(e)) for e in events]
    if rows:
        await conn.executemany("INSERT INTO outbox (topic, key, payload) VALUES ($1, $2, $3)", rows)


class OutboxRelay:
    """Publishes pending rows in id order; safe to run in several processes at once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: RawPublisher,
        *,
        batch_size: int = 1000,
        idle_delay: float = 0.05,
        keep: float = 86_400.0,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_delay = idle_delay
        self._keep = keep
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        passes = 0
        while not self._stopping.is_set():
            try:
                published = await self.publish_pending()
                passes += 1
                if passes % 2000 == 0:
                    await self.prune()
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox relay pass failed, will retry: %r", exc)
                published = 0
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("outbox relay pass failed, will retry")
                published = 0
                await asyncio.sleep(1.0)
            if published < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._idle_delay)

    def stop(self) -> None:
        self._stopping.set()

    async def publish_pending(self) -> int:
        """One pass: lock a batch, publish it, mark it. Returns how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, key, payload FROM outbox WHERE published_at IS NULL"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            PENDING.set(len(rows))
            if not rows:
                return 0
            await self._publisher.publish_raw([(r["topic"], r["key"], r["payload"]) for r in rows])
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
        PUBLISHED.inc(len(rows))
        return len(rows)

    async def prune(self) -> None:
        await self._pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
            self._keep,
        )
