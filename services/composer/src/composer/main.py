"""Wiring: builds the composer's pools, broker, background loops and HTTP app from settings,
in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from composer import routes
from composer.adapters.postgres import PostgresKeyVerifier, PostgresStore
from composer.api import accounts, campaigns, errors
from composer.api.deps import SystemClock
from composer.ports import Clock
from composer.scheduler import ReleaseScheduler
from composer.settings import Settings
from servicekit import outbox
from servicekit.db import migrate, open_pool
from servicekit.http import service_app
from servicekit.kafka import KafkaPublisher, make_broker

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="composer")
    router = KafkaRouter(prefix=settings.kafka_namespace)
    deps = routes.Deps()
    deps.clock = clock or SystemClock()
    routes.register(router, deps, group_id=settings.kafka_namespace + settings.consumer_group)
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
        store = PostgresStore(pool)
        deps.store = app.state.store = store
        app.state.key_verifier = PostgresKeyVerifier(pool)
        relay = outbox.OutboxRelay(pool, KafkaPublisher(broker, namespace=settings.kafka_namespace))
        scheduler = ReleaseScheduler(
            store, deps.clock, interval=settings.release_interval, batch=settings.release_batch
        )
        app.state.pool, app.state.relay, app.state.scheduler = pool, relay, scheduler
        tasks: list[asyncio.Task[None]] = []
        try:
            await broker.start()
            tasks = [asyncio.create_task(_prune_hourly(store, settings.processed_events_days))]
            if settings.run_scheduler:
                tasks += [asyncio.create_task(relay.run()), asyncio.create_task(scheduler.run())]
            yield
        finally:
            relay.stop()
            scheduler.stop()
            for task in tasks[:1]:  # the pruner sleeps; the loops stop by themselves
                task.cancel()
            for task in tasks:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task
            await broker.stop()
            await pool.close()

    async def database() -> None:
        await app.state.pool.fetchval("SELECT 1")

    async def kafka() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("Kafka unreachable")

    app = service_app(
        "composer",
        description="Campaigns, drafts, schedule and release; users, senders and tenant "
        "settings. Every request carries `Authorization: Bearer bm_<id>_<secret>`; the "
        "tenant comes from the key. Errors: {detail, errors: [{field, reason}]}.",
        lifespan=lifespan,
        checks={"database": database, "kafka": kafka},
    )
    app.state.broker = broker
    app.state.clock = deps.clock
    errors.install(app)
    app.add_middleware(errors.BodyLimit, limit=settings.max_request_bytes)
    app.include_router(campaigns.router)
    app.include_router(accounts.router)
    return app


async def _prune_hourly(store: PostgresStore, days: int) -> None:
    """Forgets the ids of events handled long ago; redeliveries come within minutes."""
    while True:
        try:
            await store.prune_processed(days)
        except Exception:
            log.exception("pruning processed event ids failed, will retry")
        await asyncio.sleep(3600)
