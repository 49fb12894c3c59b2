"""Wires the store, the policy and both servers together."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from devsink.api import SinkApi, start_http_server
from devsink.policy import RecipientPolicy
from devsink.smtp import SinkHandler, start_smtp_server
from devsink.stats import SinkStats
from devsink.store import MessageStore


@dataclass(frozen=True)
class SinkConfig:
    host: str = "127.0.0.1"
    smtp_port: int = 2525
    http_port: int = 8025
    store_dir: Path = Path(".local/devsink")

    @classmethod
    def from_env(cls) -> SinkConfig:
        return cls(
            host=os.environ.get("DEVSINK_HOST", cls.host),
            smtp_port=int(os.environ.get("DEVSINK_SMTP_PORT", cls.smtp_port)),
            http_port=int(os.environ.get("DEVSINK_HTTP_PORT", cls.http_port)),
            store_dir=Path(os.environ.get("DEVSINK_STORE_DIR", cls.store_dir)),
        )


class DevSink:
    """Start with `await sink.start()`, stop with `await sink.stop()`; ports 0 pick free ones."""

    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self.store = MessageStore(config.store_dir)
        self.policy = RecipientPolicy()
        self.stats = SinkStats()
        self._servers: list[asyncio.Server] = []

    @property
    def smtp_port(self) -> int:
        return _bound_port(self._servers[0])

    @property
    def http_port(self) -> int:
        return _bound_port(self._servers[1])

    async def start(self) -> None:
        self.store.open()
        handler = SinkHandler(self.store, self.policy, self.stats)
        api = SinkApi(self.store, self.policy, self.stats)
        self._servers = [
            await start_smtp_server(handler, self.config.host, self.config.smtp_port),
            await start_http_server(api, self.config.host, self.config.http_port),
        ]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self.store.close()


def _bound_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])
