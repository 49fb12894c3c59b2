"""Builds the composer's ports from settings: the one place that connects to anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from composer.adapters.argon2 import Argon2Hasher
from composer.adapters.logins import PostgresLogins
from composer.adapters.postgres import PostgresKeyVerifier, PostgresStore
from composer.auth import Hasher, Logins
from composer.ports import Clock, Store
from composer.settings import Settings
from servicekit import outbox
from servicekit.auth import KeyVerifier
from servicekit.clock import SystemClock
from servicekit.db import Database, database
from servicekit.kafka import Bus, kafka_bus
from servicekit.outbox import Relay

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class Ports:
    database: Database
    bus: Bus
    store: Store
    keys: KeyVerifier
    relay: Relay
    clock: Clock
    logins: Logins
    hasher: Hasher


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with (
        database(
            settings.database_url, settings.database_schema, MIGRATIONS, library=outbox.MIGRATIONS
        ) as db,
        kafka_bus(settings, service="composer") as bus,
    ):
        yield Ports(
            database=db,
            bus=bus,
            store=PostgresStore(db.pool),
            keys=PostgresKeyVerifier(db.pool),
            relay=outbox.OutboxRelay(db.pool, bus),
            clock=SystemClock(),
            logins=PostgresLogins(db.pool),
            hasher=Argon2Hasher(),
        )
