"""Inbound SMTP for the VERP return path (aiosmtpd), served on the app's own event loop.

Every recipient is accepted and every mail answered 250 once it is either published as
bounces or stored: bouncing a bounce helps nobody. Only when neither worked (Kafka or
PostgreSQL down) does the sender get a 451, so that its MTA retries later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

Intake = Callable[[bytes, str, list[str]], Awaitable[object]]

_MAX_MESSAGE = 10 * 1024 * 1024


class BounceHandler:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            await self._intake(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        except Exception:
            log.exception("inbound mail from %r could not be recorded", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 OK"


async def start_listener(intake: Intake, host: str, port: int) -> asyncio.Server:
    """Listen on host:port (0 picks a free port; read it from the server's sockets)."""
    handler = BounceHandler(intake)

    def protocol() -> Any:
        # An explicit hostname spares aiosmtpd a DNS lookup of our own name per connection.
        return SMTP(
            handler,
            hostname="tracking.localhost",
            data_size_limit=_MAX_MESSAGE,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=60,
        )

    # Every process of the service listens; the kernel spreads connections over them.
    return await asyncio.get_running_loop().create_server(protocol, host, port, reuse_port=True)
