"""`python -m devsink [--host H] [--smtp-port N] [--http-port N] [--store-dir DIR]
[--greylist-seconds S] [--slow-seconds S] [--rate-limit DOMAIN=N ...]`.

Defaults come from DEVSINK_HOST, DEVSINK_SMTP_PORT, DEVSINK_HTTP_PORT, DEVSINK_STORE_DIR,
DEVSINK_GREYLIST_SECONDS, DEVSINK_SLOW_SECONDS and DEVSINK_RATE_LIMITS (`a.org=5,b.org=9`),
else 127.0.0.1, 2525, 8025, .local/devsink, 300, 2 and no limits. `--rate-limit` may be
repeated and replaces DEVSINK_RATE_LIMITS; see README.md for what each setting does.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from devsink.app import DevSink, SinkConfig
from devsink.settings import MAX_SECONDS, InvalidSetting, parse_rate_limit, seconds


def parse_config(argv: list[str] | None = None) -> SinkConfig:
    parser = argparse.ArgumentParser(
        prog="devsink", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    try:
        defaults = SinkConfig.from_env()
    except (InvalidSetting, ValueError) as error:
        parser.error(str(error))
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--smtp-port", type=int, default=defaults.smtp_port)
    parser.add_argument("--http-port", type=int, default=defaults.http_port)
    parser.add_argument("--store-dir", type=Path, default=defaults.store_dir)
    _add_policy_arguments(parser, defaults)
    args = parser.parse_args(argv)
    return SinkConfig(
        args.host,
        args.smtp_port,
        args.http_port,
        args.store_dir,
        args.greylist_seconds,
        args.slow_seconds,
        dict(args.rate_limit) if args.rate_limit else defaults.rate_limits,
    )


def _add_policy_arguments(parser: argparse.ArgumentParser, defaults: SinkConfig) -> None:
    parser.add_argument(
        "--greylist-seconds",
        type=_seconds,
        default=defaults.greylist_seconds,
        help="how long `grey…` recipients get 450 after their first attempt",
    )
    parser.add_argument(
        "--slow-seconds",
        type=_seconds,
        default=defaults.slow_seconds,
        help="how long the reply to DATA waits when a `slow…` recipient was accepted",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        action="append",
        metavar="DOMAIN=N",
        help="accept at most N recipients per second at DOMAIN, then answer 421 (repeatable)",
    )


def _seconds(text: str) -> float:
    try:
        return seconds(float(text), "seconds")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 0 to {MAX_SECONDS:g}, got {text!r}") from None


def _rate_limit(text: str) -> tuple[str, int]:
    try:
        return parse_rate_limit(text)
    except InvalidSetting as error:
        raise argparse.ArgumentTypeError(str(error)) from None


async def serve(config: SinkConfig) -> None:
    sink = DevSink(config)
    await sink.start()
    print(
        f"devsink: smtp {config.host}:{sink.smtp_port} http {config.host}:{sink.http_port}"
        f" store {config.store_dir} ({sink.state.store.count} messages loaded)",
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
