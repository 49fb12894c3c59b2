"""Wiring: builds the tracking's pool, Kafka publisher, SMTP listener and HTTP app from
settings, in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from contracts import Bounced, Clicked, Opened, Unsubscribed
from servicekit.db import migrate, open_pool
from servicekit.http import service_app
from servicekit.kafka import make_broker
from servicekit.tokens import TokenCodec
from tracking import http_api, metrics, routes
from tracking.adapters import smtp
from tracking.adapters.kafka import BatchingPublisher
from tracking.adapters.postgres import PostgresMailStore
from tracking.domain import MachineRules
from tracking.handlers import intake_mail
from tracking.hits import HitEndpoints
from tracking.ports import MailStore, Publisher
from tracking.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
EMITS = (Opened, Clicked, Unsubscribed, Bounced)


def create_app(settings: Settings) -> FastAPI:
    # The broker is never started: it only carries the AsyncAPI description of what tracking
    # publishes. Events go out through BatchingPublisher (see adapters/kafka.py).
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="tracking")
    router = KafkaRouter(prefix=settings.kafka_namespace)
    routes.register(router, *EMITS)
    broker.include_router(router)
    tokens = TokenCodec.from_secret(settings.token_secret.get_secret_value())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await migrate(settings.database_url, settings.database_schema, MIGRATIONS)
            pool = await open_pool(
                settings.database_url, settings.database_schema, min_size=1, max_size=4
            )
            stack.push_async_callback(pool.close)
            publisher = BatchingPublisher(
                settings.kafka_bootstrap_servers,
                namespace=settings.kafka_namespace,
                client_id=f"tracking-{settings.instance_id}".rstrip("-"),
                timeout_ms=settings.kafka_publish_timeout_ms,
            )
            await publisher.start(model.topic for model in EMITS)
            stack.push_async_callback(publisher.stop)
            app.state.pool, app.state.publisher = pool, publisher
            app.state.store = store = PostgresMailStore(pool)
            app.state.hits = HitEndpoints(
                tokens, publisher, MachineRules(settings.click_machine_seconds)
            )
            if settings.bounce_intake:
                server = await smtp.start_listener(
                    partial(_intake, tokens=tokens, publisher=publisher, store=store),
                    settings.bounce_smtp_host,
                    settings.bounce_smtp_port,
                )
                stack.push_async_callback(_close_server, server)
                app.state.bounce_port = server.sockets[0].getsockname()[1]
            yield

    async def database() -> None:
        await app.state.pool.fetchval("SELECT 1")

    async def kafka() -> None:
        await app.state.publisher.ping()

    app = service_app(
        "tracking",
        description="Public open, click and unsubscribe endpoints; bounce (DSN) intake.",
        lifespan=lifespan,
        checks={"database": database, "kafka": kafka},
    )
    # "/u/<token>/" must not redirect to "/u/<token>": a token never ends in a slash.
    app.router.redirect_slashes = False
    app.state.broker = broker
    app.state.tokens = tokens
    app.state.hits = None
    app.include_router(http_api.router)
    return app


async def _intake(
    raw: bytes,
    mail_from: str,
    rcpt_tos: list[str],
    *,
    tokens: TokenCodec,
    publisher: Publisher,
    store: MailStore,
) -> None:
    events = await intake_mail(
        raw,
        mail_from=mail_from,
        rcpt_tos=rcpt_tos,
        tokens=tokens,
        publisher=publisher,
        store=store,
    )
    metrics.HITS.labels("bounce").inc(len(events))


async def _close_server(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()
