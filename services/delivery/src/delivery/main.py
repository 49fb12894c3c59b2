"""Delivery as an app: ports from `build`, the pipeline and the loops around it (progress,
liveness, outbox relay), consumers from `routes`, and the health and metrics endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from delivery import bootstrap, routes
from delivery.bootstrap import Ports
from delivery.catalog import CampaignCatalog
from delivery.domain import RetryPolicy
from delivery.liveness import Liveness
from delivery.pipeline import Pipeline, PipelineConfig
from delivery.progress import ProgressReporter
from delivery.settings import Settings
from servicekit.http import service_app
from servicekit.loops import running

log = logging.getLogger(__name__)

Build = Callable[[Settings], AbstractAsyncContextManager[Ports]]


@dataclass(frozen=True)
class Delivery:
    """What the subscriptions hand their events to."""

    ports: Ports
    pipeline: Pipeline


def create_app(settings: Settings, build: Build = bootstrap.build) -> FastAPI:
    owner = settings.owner_id()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with build(settings) as ports:
            liveness = Liveness(
                ports.instances,
                ports.ledger,
                owner=owner,
                beat_seconds=settings.heartbeat_seconds,
                owner_timeout=settings.owner_timeout_seconds,
            )
            await liveness.start()
            pipeline = pipeline_of(settings, owner, ports)
            progress = ProgressReporter(ports.campaigns, ports.bus)
            pipeline.start()
            try:
                async with (
                    running(
                        progress.loop(settings.progress_interval_seconds),
                        liveness.loop(),
                        ports.relay.loop(),
                    ),
                    ports.bus.consuming(routes.subscriptions(settings), Delivery(ports, pipeline)),
                ):
                    log.info("delivery %s started", owner)
                    yield {"ports": ports, "owner": owner}
            finally:
                await pipeline.stop()
                await progress.report_once()
                await liveness.stop()

    return service_app(
        "delivery",
        description="Renders, signs and sends each message over SMTP, never twice.",
        lifespan=lifespan,
    )


def pipeline_of(settings: Settings, owner: str, ports: Ports) -> Pipeline:
    config = PipelineConfig(
        owner=owner,
        concurrency=settings.smtp_concurrency,
        policy=RetryPolicy(
            settings.retry_base_seconds,
            settings.retry_max_seconds,
            settings.retry_horizon_seconds,
        ),
        claim_chunk=settings.claim_chunk,
        commit_interval_seconds=settings.commit_interval_seconds,
        namespace=settings.kafka_namespace,
        shaping=ports.shaping,
        direct=settings.delivery_mode == "direct",
    )
    return Pipeline(
        config,
        ledger=ports.ledger,
        campaigns=ports.campaigns,
        catalog=CampaignCatalog(ports.campaigns, ports.render, ports.vault),
        mailer=ports.mailer,
        publisher=ports.bus,
        shaper=ports.shaper,
        router=ports.router,
    )
