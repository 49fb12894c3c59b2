"""In-memory ports of the console for the unit tier: sessions and counters as dicts, and a
backend that answers from a table of canned responses, recording what it was asked."""

from __future__ import annotations

import copy
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from console.bootstrap import Ports
from console.errors import ApiError
from console.ports import ApiCall, Service
from console.settings import Settings

Answer = Any | Callable[[ApiCall], Any]


class FakeSessions:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    async def create(self, data: dict[str, Any], ttl_s: int) -> str:
        session_id = secrets.token_urlsafe(16)
        self.data[session_id] = copy.deepcopy(data)
        return session_id

    async def load(self, session_id: str, ttl_s: int) -> dict[str, Any] | None:
        found = self.data.get(session_id)
        return copy.deepcopy(found) if found is not None else None

    async def save(self, session_id: str, data: dict[str, Any], ttl_s: int) -> None:
        if session_id in self.data:
            self.data[session_id] = copy.deepcopy(data)

    async def destroy(self, session_id: str) -> None:
        self.data.pop(session_id, None)

    async def ping(self) -> None:
        return None


class FakeLimiter:
    def __init__(self) -> None:
        self.failures: dict[str, int] = {}

    async def blocked(self, key: str, limit: int) -> bool:
        return self.failures.get(key, 0) >= limit

    async def fail(self, key: str, window_s: int) -> None:
        self.failures[key] = self.failures.get(key, 0) + 1


class FakeBackend:
    """`answers[(service, method, path)]` is a body, an ApiError to raise, or a function of
    the call."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str], Answer] = {}
        self.calls: list[tuple[Service, ApiCall]] = []

    def on(self, service: str, method: str, path: str, answer: Answer) -> None:
        self.answers[(service, method, path)] = answer

    async def call(self, service: Service, call: ApiCall) -> Any:
        self.calls.append((service, call))
        answer = self.answers.get((service, call.method, call.path))
        if answer is None:
            raise ApiError(404, {"detail": "not found", "errors": [{"field": "id", "reason": "x"}]})
        if isinstance(answer, ApiError):
            raise answer
        return answer(call) if callable(answer) else copy.deepcopy(answer)

    def sent(self, method: str, path: str) -> list[ApiCall]:
        return [call for _, call in self.calls if (call.method, call.path) == (method, path)]


class FakeClock:
    def now(self) -> datetime:
        return datetime(2030, 1, 1, tzinfo=UTC)


def fake_build(sessions: FakeSessions, limiter: FakeLimiter, backend: FakeBackend):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def build(_: Settings) -> AsyncIterator[Ports]:
        yield Ports(sessions=sessions, limiter=limiter, backend=backend, clock=FakeClock())

    return build
