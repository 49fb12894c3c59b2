"""The HTTP face every service has: `/healthz` and `/metrics` over the service's ports,
the dependency through which routes reach those ports, and a uvicorn runner.

A service's lifespan yields `{"ports": ports}` (Starlette's lifespan state): every request
then sees the same frozen ports object, whether `bootstrap.build` made it from settings or
a test made it from fakes. Health checks are derived from it: each port with a `ping()`
is one check, named after its field.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from servicekit.kafka.subscriptions import Subscription
from servicekit.loops import Loop, running
from servicekit.settings import ServiceSettings

S = TypeVar("S")
P = TypeVar("P")

HealthCheck = Callable[[], Awaitable[object]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, Any]]]

log = logging.getLogger(__name__)


def ports(request: Request) -> Any:
    """FastAPI dependency: the ports the lifespan built."""
    return request.state.ports


def port(name: str) -> Callable[[Request], Any]:
    """FastAPI dependency on one port: `Annotated[Store, Depends(port("store"))]`."""

    def dependency(request: Request) -> Any:
        return getattr(request.state.ports, name)

    dependency.__name__ = f"port_{name}"
    return dependency


@asynccontextmanager
async def serving(
    build: Callable[[S], AbstractAsyncContextManager[P]],
    settings: S,
    subscriptions: Sequence[Subscription[Any]],
    loops: Callable[[P], Sequence[Loop]] = lambda _: (),
) -> AsyncIterator[P]:
    """A service's life: its ports built, its loops running and its subscriptions consumed
    while the block runs (the ports are the handlers' context); all stopped in reverse."""
    async with (
        build(settings) as service_ports,
        running(*loops(service_ports)),
        service_ports.bus.consuming(subscriptions, service_ports),  # type: ignore[attr-defined]
    ):
        yield service_ports


def checks_of(service_ports: object) -> dict[str, HealthCheck]:
    """One check per port that can be pinged (databases, Kafka, Redis...)."""
    if not dataclasses.is_dataclass(service_ports):
        return {}
    checks: dict[str, HealthCheck] = {}
    for field in dataclasses.fields(service_ports):
        ping = getattr(getattr(service_ports, field.name), "ping", None)
        if callable(ping):
            checks[field.name] = ping
    return checks


async def health(checks: Mapping[str, HealthCheck]) -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), timeout=2.0)
            results[name] = "ok"
        except Exception as exc:  # reported, not raised: this is the health endpoint
            results[name] = f"failing: {exc!r}"[:200]
    return all(v == "ok" for v in results.values()), results


def service_app(
    name: str,
    *,
    lifespan: Lifespan,
    description: str = "",
    version: str = "0.1.0",
    operations: bool = True,
) -> FastAPI:
    """A FastAPI app; with `operations`, `/healthz` and `/metrics` too."""
    app = FastAPI(title=name, description=description, version=version, lifespan=lifespan)
    if operations:
        add_operations(app)
    return app


def add_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness and dependencies")
    async def healthz(request: Request) -> JSONResponse:
        service_ports = getattr(request.state, "ports", None)
        healthy, results = await health(checks_of(service_ports))
        return JSONResponse(
            {"status": "ok" if healthy else "failing", "checks": results},
            status_code=200 if healthy else 503,
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run until SIGINT/SIGTERM; the lifespan closes pools and stops consumers gracefully."""
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=20,
    )
    uvicorn.Server(config).run()
