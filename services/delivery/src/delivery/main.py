"""Wiring: builds the delivery's pools, broker, pipeline and HTTP app from settings, in one
place. Nothing connects before the lifespan starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from faststream.kafka import KafkaBroker, KafkaRouter

from contracts import Bounced, DeliveryProgress, MessageSent
from delivery import routes
from delivery.adapters.dkim import DkimSigner
from delivery.adapters.kafka import ConsumerCommitter, KafkaEvents
from delivery.adapters.postgres import PgCampaigns, PgInstances, PgLedger, PgSuppressions
from delivery.adapters.smtp import SmtpMailer, SmtpOptions
from delivery.catalog import CampaignCatalog
from delivery.domain import RetryPolicy
from delivery.liveness import Liveness
from delivery.pipeline import Pipeline, PipelineConfig
from delivery.progress import ProgressReporter
from delivery.render import RenderConfig
from delivery.settings import Settings
from servicekit import outbox
from servicekit.db import migrate, open_pool
from servicekit.http import service_app
from servicekit.kafka import KafkaPublisher, declare_emits, make_broker, park
from servicekit.tokens import TokenCodec

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    owner = settings.owner_id()
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="delivery")
    router = KafkaRouter(prefix=settings.kafka_namespace)
    deps = routes.Deps()
    recipients = routes.register(router, deps, settings)
    declare_emits(router, MessageSent, Bounced, DeliveryProgress)
    broker.include_router(router)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await migrate(
            settings.database_url,
            settings.database_schema,
            MIGRATIONS,
            library=[outbox.MIGRATION],
        )
        pool = await open_pool(settings.database_url, settings.database_schema, max_size=12)
        app.state.pool = pool
        events = KafkaEvents(
            settings.kafka_bootstrap_servers,
            namespace=settings.kafka_namespace,
            client_id=f"delivery-events-{settings.instance_id or 'x'}",
        )
        await events.start()
        ledger, campaigns = PgLedger(pool), PgCampaigns(pool)
        progress = ProgressReporter(campaigns, events, interval=settings.progress_interval_seconds)
        liveness = Liveness(
            PgInstances(pool),
            ledger,
            owner=owner,
            beat_seconds=settings.heartbeat_seconds,
            owner_timeout=settings.owner_timeout_seconds,
            on_swept=progress.touch,
        )
        await liveness.start()
        deps.campaigns = campaigns
        deps.suppressions = PgSuppressions(pool)
        deps.catalog = CampaignCatalog(campaigns, _render_config(settings))
        deps.progress = progress
        deps.pipeline = _pipeline(settings, owner, deps, ledger, events, broker, recipients)
        deps.pipeline.start()
        relay = outbox.OutboxRelay(pool, KafkaPublisher(broker, namespace=settings.kafka_namespace))
        background = [
            asyncio.create_task(progress.run()),
            asyncio.create_task(liveness.run()),
            asyncio.create_task(relay.run()),
        ]
        try:
            await broker.start()
            log.info("delivery %s started", owner)
            yield
        finally:
            await deps.pipeline.stop()
            await broker.stop()
            relay.stop()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            with contextlib.suppress(Exception):
                await relay.publish_pending()
                await progress.report_once()
                await liveness.stop()
            await events.stop()
            await pool.close()

    async def database() -> None:
        await app.state.pool.fetchval("SELECT 1")

    async def kafka() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("Kafka unreachable")

    app = service_app(
        "delivery",
        description="Renders, signs and sends each message over SMTP, never twice.",
        lifespan=lifespan,
        checks={"database": database, "kafka": kafka},
    )
    app.state.broker = broker
    app.state.owner = owner
    return app


def _render_config(settings: Settings) -> RenderConfig:
    signer = None
    if settings.dkim_enabled():
        signer = DkimSigner.from_file(
            settings.dkim_selector, settings.dkim_domain, settings.dkim_private_key_path
        )
    return RenderConfig(
        tracking_base_url=settings.tracking_base_url,
        bounce_domain=settings.bounce_domain,
        codec=TokenCodec.from_secret(settings.token_secret.get_secret_value()),
        message_id_domain=settings.message_id_domain,
        signer=signer,
    )


def _pipeline(
    settings: Settings,
    owner: str,
    deps: routes.Deps,
    ledger: PgLedger,
    events: KafkaEvents,
    broker: KafkaBroker,
    recipients: object,
) -> Pipeline:
    async def park_record(
        topic: str, partition: int, offset: int, value: bytes | None, reason: str
    ) -> None:
        await park(broker, topic, value, reason=reason, partition=partition, offset=offset)

    smtp = SmtpOptions(
        host=settings.smtp_host,
        port=settings.smtp_port,
        timeout=settings.smtp_timeout,
        use_tls=settings.smtp_use_tls,
        starttls=settings.smtp_starttls,
        validate_certs=settings.smtp_validate_certs,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        helo_name=settings.smtp_helo_name,
        max_messages_per_connection=settings.smtp_max_messages_per_connection,
    )
    config = PipelineConfig(
        owner=owner,
        concurrency=settings.smtp_concurrency,
        policy=RetryPolicy(
            settings.retry_base_seconds, settings.retry_max_seconds, settings.retry_max_attempts
        ),
        held_limit=settings.held_limit,
        claim_chunk=settings.claim_chunk,
        commit_interval_seconds=settings.commit_interval_seconds,
    )
    return Pipeline(
        config,
        ledger=ledger,
        catalog=deps.catalog,
        mailer=SmtpMailer(smtp),
        publisher=events,
        committer=ConsumerCommitter(lambda: getattr(recipients, "consumer", None)),
        park=park_record,
        on_touched=deps.progress.touch,
    )
