"""The notifier as an app: ports from `build`, consumers from `routes`, the periodic
digest closer, the outbox relay, and the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from notifier import bootstrap, routes
from notifier.api import digests
from notifier.bootstrap import Ports, cycle_of
from notifier.settings import Settings
from servicekit.api_errors import install_common_handlers
from servicekit.http import BodyLimit, service_app
from servicekit.loops import running

Build = Callable[[Settings], AbstractAsyncContextManager[Ports]]


def create_app(settings: Settings, build: Build = bootstrap.build) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with build(settings) as ports:
            cycle = cycle_of(ports, settings)
            closer = cycle.loop(settings.close_interval_s, settings.hits_retention_days)
            async with (
                running(ports.relay.loop(), closer),
                ports.bus.consuming(routes.subscriptions(settings), ports),
            ):
                yield {"ports": ports, "cycle": cycle}

    app = service_app(
        "notifier",
        description="Per-user periodic digests of opens and clicks, with one-hour re-open "
        "suppression.",
        lifespan=lifespan,
    )
    install_common_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.include_router(digests.router(settings.admin_token.get_secret_value()))
    return app
