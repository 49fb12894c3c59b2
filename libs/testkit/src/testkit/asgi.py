"""A service's ASGI app in-process, its lifespan run, for httpx.

httpx's ASGI transport does not run lifespans, and so does not hand the lifespan's state
(the service's ports) to requests; `started` does both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI


@dataclass(frozen=True)
class Started:
    app: FastAPI
    state: Mapping[str, Any]

    @property
    def ports(self) -> Any:
        return self.state["ports"]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(self.state)}
        await self.app(scope, receive, send)

    def client(self, base_url: str = "http://service", **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self), base_url=base_url, **kwargs
        )


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[Started]:
    async with app.router.lifespan_context(app) as state:
        yield Started(app, state or {})
