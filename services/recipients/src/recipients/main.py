"""Wiring: builds the recipients service's pools, Kafka clients and HTTP app from settings,
in one place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from contracts import RecipientResolved
from recipients import routes
from recipients.adapters.audience import PostgresAudience
from recipients.adapters.importer import PostgresImporter
from recipients.adapters.kafka import KafkaRecipientSink, durable_producer
from recipients.adapters.postgres import (
    PostgresCustomers,
    PostgresGroups,
    PostgresResolutions,
    PostgresSuppressions,
)
from recipients.api import customers, errors, groups
from recipients.api.deps import SystemClock
from recipients.ports import Clock
from recipients.settings import Settings
from servicekit import outbox
from servicekit.auth import RemoteKeyVerifier
from servicekit.db import migrate, open_pool
from servicekit.http import service_app
from servicekit.kafka import KafkaPublisher, make_broker

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="recipients")
    router = KafkaRouter(prefix=settings.kafka_namespace)
    deps = routes.Deps(
        batch_size=settings.resolve_batch_size, max_in_flight=settings.resolve_max_in_flight
    )
    deps.clock = clock or SystemClock()
    routes.register(
        router,
        deps,
        group_id=settings.kafka_namespace + settings.consumer_group,
        max_poll_interval_ms=settings.resolve_max_minutes * 60_000,
    )
    broker.include_router(router)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await migrate(
            settings.database_url,
            settings.database_schema,
            MIGRATIONS,
            library=[outbox.MIGRATION],
        )
        pool = await open_pool(settings.database_url, settings.database_schema)
        producer = durable_producer(
            settings.kafka_bootstrap_servers,
            client_id="recipients-audience",
            batch_bytes=settings.recipient_batch_bytes,
            compression=settings.recipient_compression,
        )
        publisher = KafkaPublisher(broker, namespace=settings.kafka_namespace)
        relay = outbox.OutboxRelay(pool, publisher)
        app.state.pool = pool
        app.state.customers = PostgresCustomers(pool)
        app.state.groups = PostgresGroups(pool)
        app.state.importer = PostgresImporter(pool, listed_rejects=settings.import_listed_rejects)
        if not hasattr(app.state, "key_verifier"):  # tests put a fake there first
            app.state.key_verifier = RemoteKeyVerifier(settings.composer_url)
        deps.audience = PostgresAudience(pool)
        deps.resolutions = PostgresResolutions(pool)
        deps.sink = KafkaRecipientSink(producer, settings.kafka_namespace + RecipientResolved.topic)
        deps.publisher = publisher
        deps.suppressions = PostgresSuppressions(pool)
        relay_task: asyncio.Task[None] | None = None
        try:
            await producer.start()
            await broker.start()
            if settings.run_outbox_relay:
                relay_task = asyncio.create_task(relay.run())
            yield
        finally:
            relay.stop()
            if relay_task is not None:
                with contextlib.suppress(Exception):
                    await relay_task
            await broker.stop()
            await producer.stop()
            if isinstance(app.state.key_verifier, RemoteKeyVerifier):
                await app.state.key_verifier.close()
            await pool.close()

    async def database() -> None:
        await app.state.pool.fetchval("SELECT 1")

    async def kafka() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("Kafka unreachable")

    app = service_app(
        "recipients",
        description="Customers, groups, suppression (unsubscribed, bounced) and audience "
        "resolution. API keys as for the composer: `Authorization: Bearer bm_<id>_<secret>`; "
        "the tenant always comes from the key.",
        lifespan=lifespan,
        checks={"database": database, "kafka": kafka},
    )
    errors.install(app)
    app.include_router(customers.router)
    app.include_router(groups.router)
    app.state.broker = broker
    app.state.clock = deps.clock
    return app
