"""The tracking service as an app: ports from `build`, the bounce SMTP listener and the
sweeper of stored inbound mail, the hit endpoints, the unsubscribe pages; `asgi` puts the
hit fast path in front of it all."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from servicekit.http import configure_logging, service_app
from servicekit.loops import Periodic, running
from tracking import bootstrap, metrics
from tracking.adapters import smtp
from tracking.api import hits as hit_routes
from tracking.bootstrap import Ports
from tracking.domain import MachineRules
from tracking.fastpath import HitFastPath
from tracking.front import PortSplit
from tracking.handlers import intake_mail, purge_inbound_mail, return_path_claims
from tracking.hits import HitEndpoints
from tracking.replay import ReplayBound
from tracking.settings import Settings

Build = Callable[[Settings], AbstractAsyncContextManager[Ports]]

log = logging.getLogger("tracking")


def create_app(settings: Settings, build: Build = bootstrap.build) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with AsyncExitStack() as stack:
            ports = await stack.enter_async_context(build(settings))
            rules = MachineRules(settings.click_machine_seconds)
            replays = ReplayBound(
                limit=settings.hit_replay_limit,
                window_s=settings.hit_replay_window_s,
                capacity=settings.hit_replay_tokens,
            )
            hits = HitEndpoints(ports.tokens, ports.publisher, rules, replays, ports.clock)
            state: dict[str, Any] = {"ports": ports, "hits": hits}
            await stack.enter_async_context(running(inbound_mail_sweeper(settings, ports)))
            if settings.bounce_intake:
                server = await stack.enter_async_context(bounce_listener(settings, ports))
                state["bounce_port"] = server.sockets[0].getsockname()[1]
            log.info("tracking process %d ready", os.getpid())
            yield state

    app = service_app(
        "tracking",
        description="Public open, click and unsubscribe endpoints; bounce (DSN) intake.",
        lifespan=lifespan,
    )
    # "/u/<token>/" must not redirect to "/u/<token>": a token never ends in a slash.
    app.router.redirect_slashes = False
    app.include_router(hit_routes.router)
    return app


def asgi(settings: Settings | None = None) -> PortSplit:
    """The app as the server runs it (`uvicorn --factory tracking.main:asgi`): the hit fast
    path in front, operational paths kept to the internal port."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    return PortSplit(HitFastPath(create_app(settings)), settings.internal_port)


@asynccontextmanager
async def bounce_listener(settings: Settings, ports: Ports) -> AsyncIterator[asyncio.Server]:
    async def intake(raw: bytes, mail_from: str, rcpt_tos: list[str]) -> None:
        events = await intake_mail(
            raw,
            mail_from=mail_from,
            rcpt_tos=rcpt_tos,
            tokens=ports.tokens,
            publisher=ports.publisher,
            store=ports.store,
        )
        metrics.HITS.labels("bounce").inc(len(events))

    def is_return_path(rcpt: str) -> bool:
        return return_path_claims(rcpt, tokens=ports.tokens) is not None

    server = await smtp.start_listener(
        intake,
        is_return_path,
        settings.bounce_smtp_host,
        settings.bounce_smtp_port,
        max_bytes=settings.bounce_max_bytes,
    )
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()


def inbound_mail_sweeper(settings: Settings, ports: Ports, batch: int = 1000) -> Periodic:
    """Deletes stored inbound mail once it is older than the retention (every process runs
    one; they skip each other's rows)."""

    async def step() -> bool:
        return await purge_inbound_mail(
            ports.store, retention_days=settings.inbound_mail_retention_days, batch=batch
        )

    return Periodic(
        "purging stored inbound mail", step, interval=settings.inbound_mail_purge_interval_s
    )
