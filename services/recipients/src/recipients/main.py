"""The recipients service as an app: ports from `build`, consumers from `routes`, the
outbox relay, and the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from recipients import bootstrap, routes
from recipients.api import customers, errors, groups
from recipients.bootstrap import Ports
from recipients.settings import Settings
from servicekit.http import service_app
from servicekit.loops import running

Build = Callable[[Settings], AbstractAsyncContextManager[Ports]]

DESCRIPTION = (
    "Customers, groups, suppression (unsubscribed, bounced) and audience resolution. API "
    "keys as for the composer: `Authorization: Bearer bm_<id>_<secret>`; the tenant always "
    "comes from the key."
)


def create_app(settings: Settings, build: Build = bootstrap.build) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with (
            build(settings) as ports,
            running(*([ports.relay.loop()] if settings.run_outbox_relay else [])),
            ports.bus.consuming(routes.subscriptions(settings), ports),
        ):
            yield {"ports": ports}

    app = service_app("recipients", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    app.include_router(customers.router)
    app.include_router(groups.router)
    return app
