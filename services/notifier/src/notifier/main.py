"""Wiring: builds the notifier's pools, clients, broker and HTTP app from settings, in one place."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from fastapi import FastAPI
from faststream.kafka import KafkaRouter
from redis.asyncio import Redis

from notifier import http_api, routes
from notifier.adapters.clock import SystemClock
from notifier.adapters.ledger import PostgresLedger
from notifier.adapters.postgres import PostgresHits
from notifier.adapters.redis import RedisSuppressionState
from notifier.adapters.smtp import SmtpMailer
from notifier.digests import DigestCycle, fault_after_build
from notifier.handlers import SendOptions
from notifier.ports import Clock
from notifier.settings import Settings
from servicekit import outbox
from servicekit.db import migrate, open_pool
from servicekit.http import service_app
from servicekit.kafka import KafkaPublisher, make_broker

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def prepare_database(settings: Settings) -> asyncpg.Pool:
    await migrate(
        settings.database_url, settings.database_schema, MIGRATIONS, library=[outbox.MIGRATION]
    )
    return await open_pool(settings.database_url, settings.database_schema)


def build_cycle(settings: Settings, pool: asyncpg.Pool, clock: Clock) -> DigestCycle:
    options = SendOptions(
        sender=settings.digest_from,
        owner=settings.instance_id or f"notifier-{uuid.uuid4().hex[:8]}",
        lease_s=settings.digest_lease_s,
        concurrency=settings.digest_concurrency,
        max_lines=settings.digest_max_lines,
        retry_in=settings.digest_retry_s,
        max_attempts=settings.digest_max_attempts,
        after_build=fault_after_build(settings.digest_fault_after_build),
    )
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        connections=settings.digest_concurrency,
        timeout=settings.smtp_timeout_s,
    )
    return DigestCycle(PostgresHits(pool), PostgresLedger(pool), mailer, clock, options)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="notifier")
    router = KafkaRouter(prefix=settings.kafka_namespace)
    deps = routes.Deps()
    deps.broker = broker
    routes.register(
        router,
        deps,
        group_id=settings.kafka_namespace + settings.consumer_group,
        batch_size=settings.ingest_batch_size,
    )
    broker.include_router(router)
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = state["pool"] = await prepare_database(settings)
        redis = Redis.from_url(settings.redis_url)
        cycle = app.state.cycle = build_cycle(settings, pool, clock)
        deps.hits = cycle.hits
        deps.suppression = RedisSuppressionState(
            redis, prefix=settings.redis_key_prefix, ttl_s=settings.suppression_ttl_s
        )
        relay = outbox.OutboxRelay(pool, KafkaPublisher(broker, namespace=settings.kafka_namespace))
        stopping = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        try:
            await broker.start()
            tasks += [
                asyncio.create_task(relay.run(), name="outbox-relay"),
                asyncio.create_task(
                    cycle.run(settings.close_interval_s, stopping, settings.hits_retention_days),
                    name="digest-closer",
                ),
            ]
            yield
        finally:
            stopping.set()
            relay.stop()
            if tasks:
                await asyncio.wait(tasks, timeout=10)
            await broker.stop()
            await cycle.mailer.close()  # type: ignore[attr-defined]
            await redis.aclose()
            await pool.close()

    async def database() -> None:
        await state["pool"].fetchval("SELECT 1")

    async def kafka() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("Kafka unreachable")

    app = service_app(
        "notifier",
        description="Per-user periodic digests of opens and clicks, with one-hour re-open "
        "suppression.",
        lifespan=lifespan,
        checks={"database": database, "kafka": kafka},
    )
    app.state.broker = broker
    app.state.admin_token = settings.admin_token.get_secret_value()
    app.include_router(http_api.router)
    return app
