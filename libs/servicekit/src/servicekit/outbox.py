"""Transactional outbox: an event is written in the same transaction as the state change
that causes it, and a relay publishes it afterwards. A crash between commit and publish
loses nothing; a crash between publish and marking republishes, and consumers drop the
duplicate by event id.

Every instance of a service runs a relay, and one outbox has one publisher at a time: a
pass holds a transaction-scoped advisory lock on its outbox table, and a relay that cannot
take it leaves the pass to the holder. With row locks alone (SKIP LOCKED), a second relay
would take the rows after those the first one holds and could publish a key's later event
before its earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import asyncpg
from prometheus_client import Gauge

from contracts import Event, encode
from servicekit.kafka.producer import Record
from servicekit.kafka.publisher import event_headers
from servicekit.loops import Loop, Periodic

PENDING = Gauge("outbox_pending", "Outbox rows seen pending in the last relay pass")

MIGRATIONS = (
    (
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
    ),
    (
        "0000_outbox_event_type.sql",
        # The relay sets the record's event_type header from it, as every producer does.
        "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS event_type text;",
    ),
)


class Relay(Protocol):
    """Publishes what transactions put in the outbox (a port: tests have nothing to relay)."""

    def loop(self) -> Loop: ...


class RecordPublisher(Protocol):
    async def publish_records(self, records: Sequence[Record]) -> None: ...


async def enqueue(conn: asyncpg.Connection, events: Iterable[Event]) -> None:
    """Add events to the outbox; call inside the transaction that makes them true."""
    rows = [(e.topic, e.partition_key(), encode(e), e.event_type) for e in events]
    if rows:
        await conn.executemany(
            "INSERT INTO outbox (topic, key, payload, event_type) VALUES ($1, $2, $3, $4)", rows
        )


#: The pass's lock: one key per outbox table (its oid), so schemas do not wait for each other.
_LEADER_LOCK = (
    "SELECT pg_try_advisory_xact_lock("
    "hashtextextended('outbox relay ' || 'outbox'::regclass::oid, 0))"
)


class OutboxRelay:
    """Publishes pending rows in id order; safe to run in several processes at once (one
    of them publishes at a time)."""

    def __init__(
        self, pool: asyncpg.Pool, publisher: RecordPublisher, *, batch_size: int = 1000
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._batch_size = batch_size
        self._passes = 0

    def loop(self, *, idle_delay: float = 0.05, keep: float = 86_400.0) -> Periodic:
        async def step() -> bool:
            self._passes += 1
            if self._passes % 2000 == 0:
                await self.prune(keep)
            return await self.publish_pending() == self._batch_size

        return Periodic("outbox relay", step, interval=idle_delay)

    async def publish_pending(self) -> int:
        """One pass: lock a batch, publish it, mark it. Returns how many were published
        (0 also when another relay is in a pass on the same outbox)."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(_LEADER_LOCK):
                return 0
            rows = await conn.fetch(
                "SELECT id, topic, key, payload, event_type FROM outbox"
                " WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            PENDING.set(len(rows))
            if not rows:
                return 0
            await self._publisher.publish_records(
                [
                    Record(
                        r["topic"],
                        r["key"],
                        r["payload"],
                        event_headers(r["event_type"]) if r["event_type"] else (),
                    )
                    for r in rows
                ]
            )
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
        return len(rows)

    async def prune(self, keep: float) -> None:
        await self._pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)", keep
        )
