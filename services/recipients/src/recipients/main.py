"""Wiring: builds the recipients's pools, broker and HTTP app from settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from recipients import routes
from recipients.settings import Settings
from servicekit.db import migrate, open_pool
from servicekit.http import service_app
from servicekit.kafka import make_broker

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: Settings) -> FastAPI:
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="recipients")
    router = KafkaRouter(prefix=settings.kafka_namespace)
    deps = routes.Deps()
    routes.register(router, deps, group_id=settings.kafka_namespace + settings.consumer_group)
    broker.include_router(router)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.database_url, settings.database_schema, MIGRATIONS)
        deps.pool = await open_pool(settings.database_url, settings.database_schema)
        try:
            await broker.start()
            yield
        finally:
            await broker.stop()
            await deps.pool.close()

    async def database() -> None:
        await deps.pool.fetchval("SELECT 1")

    async def kafka() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("Kafka unreachable")

    app = service_app(
        "recipients",
        description="Customers, groups, suppression and audience resolution.",
        lifespan=lifespan,
        checks={"database": database, "kafka": kafka},
    )
    app.state.broker = broker
    return app
