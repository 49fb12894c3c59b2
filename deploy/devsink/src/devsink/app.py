"""Wires the store, the policy and both servers together."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devsink.api import SinkApi, start_http_server
from devsink.policy import RecipientPolicy
from devsink.settings import (
    DEFAULT_GREYLIST_SECONDS,
    DEFAULT_SLOW_SECONDS,
    MAX_SECONDS,
    InvalidSetting,
    PolicySettings,
    parse_rate_limit,
    seconds,
)
from devsink.smtp import SinkHandler, start_smtp_server
from devsink.state import SinkState
from devsink.stats import SinkStats
from devsink.store import MessageStore


@dataclass(frozen=True)
class SinkConfig:
    host: str = "127.0.0.1"
    smtp_port: int = 2525
    http_port: int = 8025
    store_dir: Path = Path(".local/devsink")
    greylist_seconds: float = DEFAULT_GREYLIST_SECONDS
    slow_seconds: float = DEFAULT_SLOW_SECONDS
    #: Accepted recipients per second, per recipient domain.
    rate_limits: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> SinkConfig:
        """Raises settings.InvalidSetting on a malformed policy variable."""
        env = os.environ
        limits = env.get("DEVSINK_RATE_LIMITS", "")
        return cls(
            host=env.get("DEVSINK_HOST", cls.host),
            smtp_port=int(env.get("DEVSINK_SMTP_PORT", cls.smtp_port)),
            http_port=int(env.get("DEVSINK_HTTP_PORT", cls.http_port)),
            store_dir=Path(env.get("DEVSINK_STORE_DIR", cls.store_dir)),
            greylist_seconds=_env_seconds("DEVSINK_GREYLIST_SECONDS", cls.greylist_seconds),
            slow_seconds=_env_seconds("DEVSINK_SLOW_SECONDS", cls.slow_seconds),
            rate_limits=dict(parse_rate_limit(item) for item in limits.split(",") if item),
        )

    @property
    def policy_settings(self) -> PolicySettings:
        """The policy settings, checked and normalised as `PUT /policy` would."""
        return PolicySettings().updated(
            {
                "greylist_seconds": self.greylist_seconds,
                "slow_seconds": self.slow_seconds,
                "rate_limits": dict(self.rate_limits),
            }
        )


class DevSink:
    """Start with `await sink.start()`, stop with `await sink.stop()`; ports 0 pick free ones."""

    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self.state = SinkState(
            MessageStore(config.store_dir), RecipientPolicy(config.policy_settings), SinkStats()
        )
        self._servers: list[asyncio.Server] = []

    @property
    def smtp_port(self) -> int:
        return _bound_port(self._servers[0])

    @property
    def http_port(self) -> int:
        return _bound_port(self._servers[1])

    async def start(self) -> None:
        self.state.store.open()
        handler = SinkHandler(self.state)
        api = SinkApi(self.state)
        self._servers = [
            await start_smtp_server(handler, self.config.host, self.config.smtp_port),
            await start_http_server(api, self.config.host, self.config.http_port),
        ]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self.state.store.close()


def _env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return seconds(float(value), name)
    except ValueError:
        raise InvalidSetting(
            f"{name} must be 0 to {MAX_SECONDS:g} seconds, not {value!r}"
        ) from None


def _bound_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])
