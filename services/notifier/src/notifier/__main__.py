"""`python -m notifier` serves; `python -m notifier close-periods --as-of T` closes periods.

The operator command needs PostgreSQL and SMTP only: the DigestSent events it records go
out through the outbox, published by the running service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any
from uuid import UUID

from notifier.bootstrap import build_digests, cycle_of
from notifier.main import create_app
from notifier.settings import Settings
from servicekit.http import configure_logging, serve


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("--as-of needs a UTC offset, e.g. +09:00")
    return value


async def close_periods(
    settings: Settings, as_of: datetime, tenant_id: UUID | None
) -> dict[str, Any]:
    async with build_digests(settings) as digests:
        return await cycle_of(digests, settings).close_and_send(as_of, tenant_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notifier", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    close = commands.add_parser("close-periods", help="close periods that ended by a time")
    close.add_argument("--as-of", type=_aware, required=True, help="ISO 8601 with offset")
    close.add_argument("--tenant-id", type=UUID, default=None, help="only this tenant")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "close-periods":
        configure_logging(settings.log_level)
        result = asyncio.run(close_periods(settings, args.as_of, args.tenant_id))
        print(json.dumps(result))
        return 0
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
