"""The recipients service as an app: ports from `build`, consumers from `routes`, the
outbox relay, and the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from recipients import bootstrap, routes
from recipients.api import audience, customers, groups, previews, suppressions
from recipients.bootstrap import Ports
from recipients.settings import Settings
from servicekit.api_errors import install_common_handlers
from servicekit.http import BodyLimit, KeyBeforeBody, service_app, serving
from servicekit.loops import Loop

Build = Callable[[Settings], AbstractAsyncContextManager[Ports]]

DESCRIPTION = (
    "Customers, groups, suppression (unsubscribed, bounced, complained) and audience "
    "resolution. API "
    "keys as for the composer: `Authorization: Bearer bm_<id>_<secret>`; the tenant always "
    "comes from the key."
)


def create_app(settings: Settings, build: Build = bootstrap.build) -> FastAPI:
    def loops(ports: Ports) -> list[Loop]:
        return [ports.relay.loop()] if settings.run_outbox_relay else []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with serving(build, settings, routes.subscriptions(settings), loops) as ports:
            yield {"ports": ports}

    app = service_app("recipients", description=DESCRIPTION, lifespan=lifespan)
    install_common_handlers(app)
    # Outermost first: a body is bounded before anything else happens to the request.
    app.add_middleware(KeyBeforeBody)
    app.add_middleware(BodyLimit, limit=lambda scope: settings.body_limit(scope["path"]))
    app.include_router(customers.router)
    app.include_router(groups.router)
    app.include_router(suppressions.router)
    app.include_router(audience.router)
    app.include_router(previews.router)
    return app
