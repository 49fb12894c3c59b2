"""The SMTP side: an aiosmtpd handler applying the policy and storing accepted mail."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from devsink.policy import SLOW_PREFIX, split_address
from devsink.state import SinkState
from devsink.stats import ConnectionStats, SinkStats

# aiosmtpd logs every command at INFO; at thousands of messages a second that is the bottleneck.
logging.getLogger("mail.log").setLevel(logging.WARNING)


# `<local@domain> params`, the shape real clients send; anything else takes aiosmtpd's full parser.
_PLAIN_ADDRESS = re.compile(r"\s*<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+)>(.*)")
SERVICE_CLOSING = "421"


class FastSMTP(SMTP):
    """aiosmtpd's SMTP with a cheap path for plain addresses, session figures, and a 421
    that closes the connection.

    aiosmtpd parses every MAIL/RCPT address with the email package's RFC 5322 header parser,
    which costs more than everything else the sink does per message.
    """

    def __init__(self, handler: SinkHandler, stats: SinkStats, **kwargs: Any) -> None:
        self._stats = stats
        self.connection: ConnectionStats | None = None
        #: The open transaction has an accepted `slow…` recipient.
        self.slow = False
        #: A 421 was given: the connection answers nothing more.
        self.hung_up = False
        super().__init__(handler, **kwargs)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_ADDRESS.fullmatch(arg) if arg else None
        if plain is None:
            return super()._getaddr(arg)
        return plain[1], plain[2]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # STARTTLS makes the same session again; it is still one connection.
        if self.connection is None:
            self.connection = self._stats.open_connection()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        if self.connection is not None:
            self.connection.close()

    def _create_envelope(self) -> Envelope:
        # aiosmtpd makes a new envelope exactly when a transaction ends (DATA, RSET, HELO,
        # EHLO), which is when the transaction stops counting towards its domains.
        if self.connection is not None:
            self.connection.end_transaction()
        self.slow = False
        return super()._create_envelope()

    def hang_up_after_reply(self) -> None:
        """Close the connection once the reply being made has gone out, as RFC 5321 §3.8
        has a server do after a 421; commands the client already pipelined behind it are
        still read, but get no answer and reach no handler."""
        self.hung_up = True
        # Swapped in on this one connection, so every other reply keeps aiosmtpd's push.
        self.push = self._push_then_close  # type: ignore[method-assign]

    async def _push_then_close(self, status: AnyStr) -> None:
        await SMTP.push(self, status)
        self.push = self._push_nothing  # type: ignore[method-assign]
        if self.transport is not None:
            self.transport.close()

    async def _push_nothing(self, status: AnyStr) -> None:
        pass


class SinkHandler:
    def __init__(self, state: SinkState) -> None:
        self._store, self._policy, self.stats = state.store, state.policy, state.stats

    async def handle_RCPT(
        self,
        server: FastSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if server.hung_up:
            return f"{SERVICE_CLOSING} 4.7.0 closing connection"
        local, domain = split_address(address)
        refusal = self._policy.judge(local, domain, address)
        assert server.connection is not None, "RCPT before the connection was made"
        server.connection.rcpt(domain, refusal)
        if refusal is not None:
            if refusal.startswith(SERVICE_CLOSING):
                server.hang_up_after_reply()
            return refusal
        if local.startswith(SLOW_PREFIX):
            server.slow = True
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: FastSMTP, session: Session, envelope: Envelope) -> str:
        if server.slow:
            # At the end of DATA, where real servers spend their time (content filters), and
            # where RFC 5321 gives the client the longest timeout (10 minutes). A client that
            # gives up meanwhile cancels this wait, and the message is not stored.
            await asyncio.sleep(self._policy.settings.slow_seconds)
        if server.hung_up:
            return f"{SERVICE_CLOSING} 4.7.0 closing connection"
        raw = envelope.original_content or b""
        message = self._store.add(envelope.mail_from or "", envelope.rcpt_tos, raw)
        if server.connection is not None:
            server.connection.delivered()
        return f"250 2.0.0 OK queued as {message.id}"


async def start_smtp_server(handler: SinkHandler, host: str, port: int) -> asyncio.Server:
    def protocol() -> Any:
        # A fixed hostname: aiosmtpd would otherwise resolve the FQDN for every connection.
        return FastSMTP(
            handler,
            handler.stats,
            hostname="devsink.localhost",
            ident="bulkmail devsink",
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol, host, port, reuse_address=True)
