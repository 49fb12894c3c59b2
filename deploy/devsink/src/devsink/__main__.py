"""`python -m devsink [--host H] [--smtp-port N] [--http-port N] [--store-dir DIR]`.

Defaults come from DEVSINK_HOST, DEVSINK_SMTP_PORT, DEVSINK_HTTP_PORT, DEVSINK_STORE_DIR,
else 127.0.0.1, 2525, 8025 and .local/devsink.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from devsink.app import DevSink, SinkConfig


def parse_config(argv: list[str] | None = None) -> SinkConfig:
    defaults = SinkConfig.from_env()
    parser = argparse.ArgumentParser(prog="devsink", description=__doc__)
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--smtp-port", type=int, default=defaults.smtp_port)
    parser.add_argument("--http-port", type=int, default=defaults.http_port)
    parser.add_argument("--store-dir", type=Path, default=defaults.store_dir)
    args = parser.parse_args(argv)
    return SinkConfig(args.host, args.smtp_port, args.http_port, args.store_dir)


async def serve(config: SinkConfig) -> None:
    sink = DevSink(config)
    await sink.start()
    print(
        f"devsink: smtp {config.host}:{sink.smtp_port} http {config.host}:{sink.http_port}"
        f" store {config.store_dir} ({sink.store.count} messages loaded)",
        flush=True,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await sink.stop()
    print("devsink: stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    config = parse_config(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(config))
    else:
        uvloop.run(serve(config))


if __name__ == "__main__":
    main()
