"""The public HTTP front of tracking: uvicorn's httptools protocol with the bounds a port
open to the whole internet needs, and the split between the public and the internal port.

- a request's head (line and headers) must arrive within `head_seconds` of the
  connection, or of the end of the previous request: a client sending a byte a minute is
  cut off (slowloris); uvicorn closes idle keep-alive connections on its own;
- a URL longer than 8 KiB is refused with 414, a head larger than 32 KiB with 431, a body
  larger than 64 KiB with 413 (as declared, or as it streams; an unsubscribe POST is a few
  hundred bytes), before the app reads any of it;
- connections beyond the cap are answered 503 (uvicorn's `limit_concurrency`);
- the public port serves the hit endpoints, the unsubscribe pages and `/healthz`;
  `/metrics` and the API documents answer only on the internal port (SPEC §8).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from prometheus_client import Counter
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_URL = 8 * 1024
MAX_HEAD = 32 * 1024
MAX_BODY = 64 * 1024

CUT_OFF = Counter(
    "tracking_connections_cut_total",
    "Connections closed by the public front, by reason (slow_head, url_too_long, "
    "head_too_large, body_too_large)",
    ["reason"],
)
_REFUSALS = {"url_too_long": 414, "head_too_large": 431, "body_too_large": 413}

INTERNAL_PATHS = ("/metrics", "/docs", "/redoc", "/openapi.json")


class _Refused(Exception):
    pass


class FrontConfig(uvicorn.Config):
    """uvicorn's settings plus the time a client has to send a request's head."""

    def __init__(self, app: Any, *, head_seconds: float, **options: Any) -> None:
        super().__init__(app, http=GuardedHttpTools, **options)
        self.head_seconds = head_seconds


class GuardedHttpTools(HttpToolsProtocol):
    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._head_seconds: float = getattr(config, "head_seconds", 10.0)
        self._head_bytes = 0
        self._body_bytes = 0
        self._refusal: str | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._body_bytes = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), limit=MAX_URL, reason="url_too_long")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), limit=MAX_HEAD, reason="head_too_large")
        if name.lower() == b"content-length" and _number(value) > MAX_BODY:
            self._refuse("body_too_large")
        super().on_header(name, value)

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        # Once an answer has started (a pixel does not wait for a body), uvicorn drops the
        # rest of the body itself; before, a chunked body is cut off where it passes the cap.
        if self._body_bytes > MAX_BODY and not self.cycle.response_started:
            self._refuse("body_too_large")
        super().on_body(body)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's head is due as well

    def send_400_response(self, msg: str) -> None:
        """httptools reports our refusals as parse errors: answer them as what they are."""
        if self._refusal is None:
            super().send_400_response(msg)
            return
        status = _REFUSALS[self._refusal]
        body = f"{self._refusal.replace('_', ' ')}\n".encode()
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: " + str(len(body)).encode() + b"\r\n"
            + b"connection: close\r\n\r\n"
            + body
        )  # fmt: skip
        self.transport.close()

    def _count(self, size: int, *, limit: int, reason: str) -> None:
        self._head_bytes += size
        if self._head_bytes > limit:
            self._refuse(reason)

    def _refuse(self, reason: str) -> None:
        """httptools turns the exception into a parse error, answered in send_400_response."""
        self._refusal = reason
        CUT_OFF.labels(reason).inc()
        raise _Refused(reason)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self._head_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            CUT_OFF.labels("slow_head").inc()
            self.transport.close()


def _number(value: bytes) -> int:
    digits = value.strip()
    return int(digits) if digits.isdigit() else 0  # httptools refuses what is not a number


class PortSplit:
    """Keeps operational and documentation paths off the public port."""

    def __init__(self, app: Any, internal_port: int) -> None:
        self.app = app
        self._internal_port = internal_port

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(INTERNAL_PATHS):
            server = scope.get("server")
            if server is None or server[1] != self._internal_port:
                await _not_found(send)
                return
        await self.app(scope, receive, send)


async def _not_found(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"10"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"not found\n"})
