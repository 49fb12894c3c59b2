"""What the console needs from the outside world: sessions and counters (Redis) and the
platform's APIs. Adapters implement these; tests fake them."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

Service = Literal["composer", "recipients"]


class Sessions(Protocol):
    async def create(self, data: dict[str, Any], ttl_s: int) -> str:
        """Stores a new session; returns its random id."""
        ...

    async def load(self, session_id: str, ttl_s: int) -> dict[str, Any] | None:
        """The session, its idle time reset; None once it ended."""
        ...

    async def save(self, session_id: str, data: dict[str, Any], ttl_s: int) -> None: ...

    async def destroy(self, session_id: str) -> None: ...

    async def ping(self) -> None: ...


class Limiter(Protocol):
    """Failed attempts counted per key in fixed windows."""

    async def blocked(self, key: str, limit: int) -> bool:
        """Whether `limit` failures under `key` fell in the current window."""
        ...

    async def fail(self, key: str, window_s: int) -> None: ...


@dataclass(frozen=True)
class ApiCall:
    """One request to a platform API, made with a session key (None to sign in)."""

    method: str
    path: str
    key: str | None
    json: Any = None
    params: dict[str, Any] | None = None
    content: AsyncIterable[bytes] | bytes | None = None
    headers: dict[str, str] | None = None


class Backend(Protocol):
    async def call(self, service: Service, call: ApiCall) -> Any:
        """The decoded answer; raises ApiError for any 4xx/5xx, Unavailable when the
        service does not answer."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...
