"""The SMTP side: an aiosmtpd handler applying the policy and storing accepted mail."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from devsink.policy import RecipientPolicy
from devsink.store import MessageStore

# aiosmtpd logs every command at INFO; at thousands of messages a second that is the bottleneck.
logging.getLogger("mail.log").setLevel(logging.WARNING)


# `<local@domain> params`, the shape real clients send; anything else takes aiosmtpd's full parser.
_PLAIN_ADDRESS = re.compile(r"\s*<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+)>(.*)")


class FastSMTP(SMTP):
    """aiosmtpd's SMTP with a cheap path for plain addresses.

    aiosmtpd parses every MAIL/RCPT address with the email package's RFC 5322 header parser,
    which costs more than everything else the sink does per message.
    """

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_ADDRESS.fullmatch(arg) if arg else None
        if plain is None:
            return super()._getaddr(arg)
        return plain[1], plain[2]


class SinkHandler:
    def __init__(self, store: MessageStore, policy: RecipientPolicy) -> None:
        self._store = store
        self._policy = policy

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self._policy.refusal(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = self._store.add(envelope.mail_from or "", envelope.rcpt_tos, raw)
        return f"250 2.0.0 OK queued as {message.id}"


async def start_smtp_server(handler: SinkHandler, host: str, port: int) -> asyncio.Server:
    def protocol() -> Any:
        # A fixed hostname: aiosmtpd would otherwise resolve the FQDN for every connection.
        return FastSMTP(
            handler,
            hostname="devsink.localhost",
            ident="bulkmail devsink",
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol, host, port, reuse_address=True)
