"""Builds the notifier's ports from settings: the one place that connects to anything."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from notifier.adapters.ledger import PostgresLedger
from notifier.adapters.postgres import PostgresHits
from notifier.adapters.redis import RedisSuppressionState
from notifier.adapters.smtp import SmtpMailer
from notifier.digests import DigestCycle, fault_after_build
from notifier.handlers import SendOptions
from notifier.ports import Clock, DigestLedger, HitStore, Mailer, SuppressionState
from notifier.settings import Settings
from servicekit import outbox
from servicekit.auth import KeyVerifier, RemoteKeyVerifier
from servicekit.backbone import Backbone
from servicekit.clock import SystemClock
from servicekit.db import Database, database, service_migrations
from servicekit.kafka import kafka_bus


@dataclass(frozen=True)
class Digests:
    """What closing periods and sending digests needs (also without Kafka, see cli)."""

    database: Database
    hits: HitStore
    ledger: DigestLedger
    mailer: Mailer
    clock: Clock


@dataclass(frozen=True)
class Ports(Backbone, Digests):
    """The digests' ports, with Kafka and what the consumers and the API need besides."""

    suppression: SuppressionState
    keys: KeyVerifier


def send_options(settings: Settings) -> SendOptions:
    return SendOptions(
        sender=settings.digest_from,
        owner=settings.instance_id or f"notifier-{uuid.uuid4().hex[:8]}",
        lease_s=settings.digest_lease_s,
        concurrency=settings.digest_concurrency,
        max_lines=settings.digest_max_lines,
        retry_in=settings.digest_retry_s,
        max_attempts=settings.digest_max_attempts,
        after_build=fault_after_build(settings.digest_fault_after_build),
    )


def cycle_of(ports: Digests, settings: Settings) -> DigestCycle:
    return DigestCycle(ports.hits, ports.ledger, ports.mailer, ports.clock, send_options(settings))


@asynccontextmanager
async def build_digests(settings: Settings) -> AsyncIterator[Digests]:
    async with (
        database(
            settings.database_url,
            settings.database_schema,
            service_migrations(__file__),
            library=outbox.MIGRATIONS,
        ) as db,
        SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            connections=settings.digest_concurrency,
            timeout=settings.smtp_timeout_s,
        ) as mailer,
    ):
        yield Digests(db, PostgresHits(db.pool), PostgresLedger(db.pool), mailer, SystemClock())


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with (
        build_digests(settings) as digests,
        kafka_bus(settings, service="notifier") as bus,
        Redis.from_url(settings.redis_url) as redis,
        RemoteKeyVerifier(settings.composer_url) as keys,
    ):
        yield Ports(
            database=digests.database,
            bus=bus,
            relay=outbox.OutboxRelay(digests.database.pool, bus),
            suppression=RedisSuppressionState(
                redis, prefix=settings.redis_key_prefix, ttl_s=settings.suppression_ttl_s
            ),
            hits=digests.hits,
            ledger=digests.ledger,
            mailer=digests.mailer,
            clock=digests.clock,
            keys=keys,
        )
