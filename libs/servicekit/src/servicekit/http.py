"""The HTTP face every service has: `/healthz` and `/metrics` over the service's ports,
the dependency through which routes reach those ports, bounds on request bodies, and a
uvicorn runner.

A service's lifespan yields `{"ports": ports}` (Starlette's lifespan state): every request
then sees the same frozen ports object, whether `bootstrap.build` made it from settings or
a test made it from fakes. Health checks are derived from it: each port with a `ping()`
is one check, named after its field.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.api_errors import error_response
from servicekit.auth import KeyVerifier, bearer_token
from servicekit.errors import FieldError
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


def service_app(name: str, *, lifespan: Lifespan, description: str = "") -> FastAPI:
    """A FastAPI app with `/healthz` and `/metrics`."""
    app = FastAPI(
        title=name, description=description, version="0.1.0", lifespan=_frozen_after(lifespan)
    )
    add_operations(app)
    return app


def _frozen_after(lifespan: Lifespan) -> Lifespan:
    """The lifespan, and once it has started, everything allocated so far (modules, pools,
    clients, caches) is moved out of the garbage collector's sight: those objects live as
    long as the process, and without this each full collection walks them all again, a few
    times a second on a consumer decoding thousands of events a batch. The youngest
    generation is collected every 10,000 allocations instead of 700: a batch's objects
    are short-lived and freed by their reference counts, not by the collector."""

    @asynccontextmanager
    async def frozen(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with lifespan(app) as state:
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
            yield state

    return frozen


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


# ---------------------------------------------------------------- request bodies

#: Bodies up to this size are read before the key is checked; larger ones, and those of
#: unknown size, only after (KeyBeforeBody).
SMALL_BODY = 64 * 1024


class BodyTooLarge(HTTPException):
    """Raised by the receive channel of BodyLimit once a body passed its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"request body larger than {limit} bytes")
        self.limit = limit


class HttpMiddleware:
    """ASGI middleware that acts on HTTP requests (`handle`); lifespan and websocket
    messages go straight through to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class BodyLimit(HttpMiddleware):
    """Bounds request bodies while they stream: a declared Content-Length over the limit is
    refused before anything is read, and a body that grows past it (chunked, or longer than
    declared) is cut off at the limit; both answer 413 in the platform's error shape.

    `limit` is a number of bytes or a function of the ASGI scope (e.g. larger for imports).
    Whatever the app does with the cut-off body, its answer is replaced by the 413, and the
    connection is closed after it. When the app answers before it read a body of declared
    size (e.g. a 422 naming a line), the server reads and drops the rest, at most the
    limit, so that a client still sending (as most do) gets the answer; a chunked body,
    whose end nobody knows, is not drained: the connection is closed.
    """

    def __init__(self, app: ASGIApp, limit: int | Callable[[Scope], int]) -> None:
        super().__init__(app)
        self.limit = limit

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit(scope) if callable(self.limit) else self.limit
        declared, chunked = body_size(scope)
        if declared is not None and declared > limit:
            await refuse(scope, receive, send, BodyTooLarge(limit))
            return
        state = _BodyState(unread=chunked)

        async def counted() -> Message:
            if state.exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                state.received += len(message.get("body", b""))
                state.unread = chunked and bool(message.get("more_body", False))
                if state.received > limit:
                    state.exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def answered(message: Message) -> None:
            if state.exceeded and not state.started:
                return  # the app's answer to a cut-off body; the 413 below replaces it
            if message["type"] == "http.response.start":
                state.started = True
                if state.unread:
                    message = _closing(message)
            await send(message)

        try:
            await self.app(scope, counted, answered)
        except Exception:
            if not (state.exceeded and not state.started):
                raise
        if state.exceeded and not state.started:
            await refuse(scope, receive, send, BodyTooLarge(limit))


@dataclasses.dataclass
class _BodyState:
    unread: bool
    received: int = 0
    exceeded: bool = False
    started: bool = False


class KeyBeforeBody(HttpMiddleware):
    """Verifies the bearer key of a request with a body larger than `threshold` bytes (or
    of unknown size) before the app reads any of it, through the service's KeyVerifier
    (`ports.keys` of the lifespan state); 401 without a valid key. Smaller bodies are left
    to the routes, which check the key as always."""

    def __init__(self, app: ASGIApp, threshold: int = SMALL_BODY) -> None:
        super().__init__(app)
        self.threshold = threshold

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._large(scope):
            service_ports = scope.get("state", {}).get("ports")
            if service_ports is not None and not await self._known(scope, service_ports.keys):
                error = HTTPException(
                    401, "unknown, revoked or missing API key", {"WWW-Authenticate": "Bearer"}
                )
                await refuse(scope, receive, send, error)
                return
        await self.app(scope, receive, send)

    def _large(self, scope: Scope) -> bool:
        declared, chunked = body_size(scope)
        return chunked or (declared is not None and declared > self.threshold)

    async def _known(self, scope: Scope, keys: KeyVerifier) -> bool:
        header = Headers(scope=scope).get("authorization", "")
        token = bearer_token(header)
        return token is not None and await keys.verify(token) is not None


def body_size(scope: Scope) -> tuple[int | None, bool]:
    """(declared Content-Length or None, whether the body is chunked)."""
    headers = Headers(scope=scope)
    length = headers.get("content-length")
    declared = int(length) if length is not None and length.isdigit() else None
    return declared, "transfer-encoding" in headers


async def refuse(scope: Scope, receive: Receive, send: Send, error: HTTPException) -> None:
    """An error answer in the platform's shape, from outside the app; the body stays unread,
    so the connection is closed after it."""
    headers = {**(error.headers or {}), "Connection": "close"}
    field = "authorization" if error.status_code == 401 else "body"
    response = error_response(
        error.status_code, [FieldError(field, str(error.detail))], headers=headers
    )
    await response(scope, receive, send)


def _closing(start: Message) -> Message:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"connection"]
    return {**start, "headers": [*headers, (b"connection", b"close")]}
