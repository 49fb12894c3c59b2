"""Wiring: builds the tracking's pools, broker and HTTP app from settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from servicekit.db import migrate, open_pool
from servicekit.http import service_app
from servicekit.kafka import KafkaPublisher, make_broker
from servicekit.tokens import TokenCodec
from tracking import http_api, routes
from tracking.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: Settings) -> FastAPI:
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="tracking")
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
        "tracking",
        description="Public open, click and unsubscribe endpoints; bounce (DSN) intake.",
        lifespan=lifespan,
        checks={"database": database, "kafka": kafka},
    )
    app.state.broker = broker
    app.state.publisher = KafkaPublisher(broker, namespace=settings.kafka_namespace)
    app.state.tokens = TokenCodec.from_secret(settings.token_secret.get_secret_value())
    app.include_router(http_api.router)
    return app
