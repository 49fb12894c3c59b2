"""HTTP clients for the platform's own services, which may run as several instances.

A peer is given as one URL or several, comma-separated (`http://a:8001,http://a:8101`).
Requests go to the instances in turn, as a load balancer would send them, and a request
whose connection is refused (the instance is down or restarting; nothing was sent) goes
to the next one. Only when every instance refuses does the caller see the refusal.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx


def peer_urls(urls: str) -> list[httpx.URL]:
    bases = [httpx.URL(u.strip()) for u in urls.split(",") if u.strip()]
    if not bases:
        raise ValueError("no URL given for a peer service")
    return bases


class FailoverTransport(httpx.AsyncBaseTransport):
    """Sends each request to the next of `bases`, and on to the others while refused."""

    def __init__(
        self,
        bases: list[httpx.URL],
        inner: httpx.AsyncBaseTransport | None = None,
        turns: Iterator[int] | None = None,
    ) -> None:
        self._bases = bases
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._turns = turns if turns is not None else itertools.count()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = next(self._turns)
        refused: httpx.ConnectError | None = None
        for i in range(len(self._bases)):
            base = self._bases[(start + i) % len(self._bases)]
            request.url = request.url.copy_with(scheme=base.scheme, host=base.host, port=base.port)
            request.headers["Host"] = base.netloc.decode("ascii")
            try:
                return await self._inner.handle_async_request(request)
            except httpx.ConnectError as exc:
                refused = exc
        assert refused is not None
        raise refused

    async def aclose(self) -> None:
        await self._inner.aclose()


def peer_client(
    urls: str, *, timeout: float | httpx.Timeout, turns: Iterator[int] | None = None
) -> httpx.AsyncClient:
    """A client for the service at `urls` (one or several instances); paths are relative.
    Clients given the same `turns` share one round-robin (e.g. a client per request)."""
    bases = peer_urls(urls)
    transport = FailoverTransport(bases, turns=turns)
    return httpx.AsyncClient(base_url=bases[0], timeout=timeout, transport=transport)
