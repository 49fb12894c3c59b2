"""The composer as an app: ports from `build`, consumers from `routes`, background loops,
and the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import FastAPI

from composer import bootstrap, routes
from composer.api import accounts, campaigns, errors, sending_domains
from composer.api import auth as auth_api
from composer.bootstrap import Ports
from composer.scheduler import release_loop
from composer.settings import Settings
from servicekit.api_errors import install_common_handlers
from servicekit.http import service_app, serving
from servicekit.loops import Loop, Periodic

Build = Callable[[Settings], AbstractAsyncContextManager[Ports]]

DESCRIPTION = (
    "Campaigns, drafts, schedule and release; users, senders and tenant settings. Every "
    "request carries `Authorization: Bearer bm_<id>_<secret>`; the tenant comes from the "
    "key. Errors: {detail, errors: [{field, reason}]}."
)


def create_app(settings: Settings, build: Build = bootstrap.build) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        subscriptions = routes.subscriptions(settings)
        async with serving(build, settings, subscriptions, partial(loops, settings)) as ports:
            yield {"ports": ports}

    app = service_app("composer", description=DESCRIPTION, lifespan=lifespan)
    install_common_handlers(app)
    app.add_middleware(errors.BodyLimit, limit=settings.max_request_bytes)
    app.include_router(campaigns.router)
    app.include_router(accounts.router)
    app.include_router(sending_domains.router)
    app.include_router(auth_api.router)
    app.state.login_policy = auth_api.policy_of(settings)
    return app


def loops(settings: Settings, ports: Ports) -> list[Loop]:
    """Pruning always; the outbox relay and the release scheduler unless turned off."""

    async def prune() -> None:
        await ports.store.prune_processed(settings.processed_events_days)

    async def prune_logins() -> None:
        await ports.logins.prune_failures(ports.clock.now() - timedelta(days=1))

    found: list[Loop] = [
        Periodic("pruning handled event ids", prune, interval=3600),
        Periodic("pruning failed sign-in counts", prune_logins, interval=3600),
    ]
    if settings.run_scheduler:
        found += [
            ports.relay.loop(),
            release_loop(
                ports.store, ports.clock, settings.release_interval, settings.release_batch
            ),
        ]
    return found
