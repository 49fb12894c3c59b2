"""Inbound SMTP for the VERP return path (aiosmtpd), served on the app's own event loop.

Only return paths take mail: a recipient without a valid bounce token is refused at RCPT
time, so nothing else is ever accepted or stored. A mail is answered 250 once it is either
published as bounces or stored: bouncing a bounce helps nobody. Mail no report can be
(too large, a line too long, a MIME structure too deep or too wide) gets a permanent
refusal with an RFC 3463 code, so that the sending MTA gives up instead of retrying; only
when neither Kafka nor PostgreSQL took a mail is the answer 451, so that it tries later.
The replies are listed in the service's README.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tracking.dsn import MAX_CONTAINERS, MAX_PARTS, TooComplex
from tracking.metrics import BOUNCE_REFUSED

log = logging.getLogger(__name__)

Intake = Callable[[bytes, str, list[str]], Awaitable[object]]
IsReturnPath = Callable[[str], bool]

ACCEPTED = "250 2.0.0 OK: received"
RECIPIENT_OK = "250 2.1.5 OK"
TRY_LATER = "451 4.3.0 Temporary local problem, please try again later"


def refusals(max_bytes: int) -> dict[str, str]:
    """The permanent replies, by the reason counted in `tracking_bounce_refused_total`."""
    return {
        "no_token": "550 5.1.1 No such recipient: this server takes delivery reports for "
        "the return paths of the mail it sent, nothing else",
        "too_large": f"552 5.3.4 Message too big: reports are taken up to {max_bytes} bytes",
        "line_too_long": "554 5.6.0 Message refused: a line is longer than 1000 octets "
        "(RFC 5321 4.5.3.1.6)",
        "command_too_long": "500 5.5.2 Command line too long",
        "too_deep": "554 5.6.0 Message refused: more than "
        f"{MAX_CONTAINERS} multipart or message parts; no report is nested that deeply",
        "too_many_parts": f"554 5.6.0 Message refused: more than {MAX_PARTS} MIME parts",
    }


#: aiosmtpd's own refusals (sizes, line lengths), by the reason they stand for.
_AIOSMTPD = {
    "552 Error: message size exceeds fixed maximum message size": "too_large",
    "552 Error: Too much mail data": "too_large",
    "500 Line too long (see RFC5321 4.5.3.1.6)": "line_too_long",
    "500 Command line too long": "command_too_long",
}


@dataclass(frozen=True, slots=True)
class BounceHandler:
    """aiosmtpd's handler: `replies` are the permanent refusals, by reason."""

    intake: Intake
    is_return_path: IsReturnPath
    replies: dict[str, str]

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.is_return_path(address):
            return self.refuse("no_token")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            await self.intake(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        except TooComplex as exc:
            return self.refuse(exc.reason)
        except Exception:
            log.exception("inbound mail from %r could not be recorded", envelope.mail_from)
            return TRY_LATER
        return ACCEPTED

    async def handle_exception(self, error: Exception) -> str:
        """A failure in a command: logged here, never shown to the client."""
        log.error("bounce intake: %r", error, exc_info=error)
        return TRY_LATER

    def refuse(self, reason: str) -> str:
        BOUNCE_REFUSED.labels(reason).inc()
        return self.replies[reason]


class ReturnPathSMTP(SMTP):
    """aiosmtpd, answering what it refuses by itself with this intake's replies."""

    def __init__(self, handler: BounceHandler, **options: Any) -> None:
        super().__init__(handler, **options)
        self._bounces = handler

    async def push(self, status: Any) -> None:
        reason = _AIOSMTPD.get(status) if isinstance(status, str) else None
        await super().push(self._bounces.refuse(reason) if reason else status)


async def start_listener(
    intake: Intake, is_return_path: IsReturnPath, host: str, port: int, *, max_bytes: int
) -> asyncio.Server:
    """Listen on host:port (0 picks a free port; read it from the server's sockets)."""
    handler = BounceHandler(intake, is_return_path, refusals(max_bytes))

    def protocol() -> Any:
        # An explicit hostname spares aiosmtpd a DNS lookup of our own name per connection.
        return ReturnPathSMTP(
            handler,
            hostname="tracking.localhost",
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=60,
        )

    # Every process of the service listens; the kernel spreads connections over them.
    return await asyncio.get_running_loop().create_server(protocol, host, port, reuse_port=True)
