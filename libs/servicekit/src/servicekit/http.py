"""The HTTP face every service has: `/healthz`, `/metrics`, and a uvicorn runner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from servicekit.settings import ServiceSettings

HealthCheck = Callable[[], Awaitable[object]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

log = logging.getLogger(__name__)


def service_app(
    name: str,
    *,
    lifespan: Lifespan,
    checks: Mapping[str, HealthCheck] | None = None,
    description: str = "",
    version: str = "0.1.0",
) -> FastAPI:
    """A FastAPI app with the operational endpoints; the service adds its own routes."""
    app = FastAPI(title=name, description=description, version=version, lifespan=lifespan)
    app.state.checks = dict(checks or {})

    @app.get("/healthz", tags=["operations"], summary="Liveness and dependencies")
    async def healthz() -> JSONResponse:
        results: dict[str, str] = {}
        for check_name, check in app.state.checks.items():
            try:
                await asyncio.wait_for(check(), timeout=2.0)
                results[check_name] = "ok"
            except Exception as exc:  # reported, not raised: this is the health endpoint
                results[check_name] = f"failing: {exc!r}"[:200]
        healthy = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ok" if healthy else "failing", "checks": results},
            status_code=200 if healthy else 503,
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


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
