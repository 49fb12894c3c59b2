"""`python -m tracking`: tracking under uvicorn (httptools), TRACKING_PROCESSES processes
sharing the public port (HTTP_PORT) and the internal one (INTERNAL_PORT), each also
answering the bounce SMTP port. uvicorn supervises the processes and restarts one that
dies."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from servicekit.http import configure_logging
from tracking.front import FrontConfig
from tracking.settings import Settings


def config(settings: Settings, app: Any = "tracking.main:asgi", **overrides: Any) -> FrontConfig:
    options: dict[str, Any] = dict(
        factory=isinstance(app, str),
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_level=settings.log_level.lower(),
        limit_concurrency=settings.http_max_connections,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        backlog=2048,
        timeout_graceful_shutdown=20,
        workers=settings.tracking_processes,
    )
    options.update(overrides)
    return FrontConfig(app, head_seconds=settings.http_head_seconds, **options)


def listen(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP named: asyncio then sets TCP_NODELAY on accepted connections, without
    # which a response written in two parts waits for the client's delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    server_config = config(settings)
    sockets = [
        listen(settings.http_host, settings.http_port),
        listen(settings.http_host, settings.internal_port),
    ]
    if settings.tracking_processes > 1:
        Multiprocess(server_config, sockets=sockets).run()
    else:
        uvicorn.Server(server_config).run(sockets=sockets)


if __name__ == "__main__":
    main()
