"""SMTP: aiosmtplib opens each persistent connection, the transactions are pipelined.

aiosmtplib establishes the session: greeting, EHLO, STARTTLS, AUTH. Then, when the server
offers PIPELINING (RFC 2920), the connection's transport is handed to a small reply reader
and each transaction is two writes: `MAIL FROM`, `RCPT TO` and `DATA` together, then the
message, which render already dot-stuffed and terminated. Socket writes and reads are
what a transaction costs (far more than building the mail), and aiosmtplib's own
`sendmail` needs four round trips and re-scans every message with regular expressions.
Without PIPELINING the same steps go one by one through aiosmtplib's protocol.

A session connects along its route: the relay, or a domain's mail exchangers tried in
order of preference until one answers. Right before a message's content, the session
waits for what the caller says about entering DATA (the ledger's marker): a refusal
drops the connection rather than write a message that is no longer ours to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

import aiosmtplib
from aiosmtplib.errors import SMTPException, SMTPResponseException

from delivery.adapters.replies import ConnectionLost, ReplyReader
from delivery.bounces import Reply, Stage
from delivery.ports import Route, Transaction
from mailkit.render import Mail

log = logging.getLogger(__name__)

SERVICE_CLOSING = 421


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int
    timeout: float = 30.0
    use_tls: bool = False
    #: None: upgrade when the server offers STARTTLS.
    starttls: bool | None = False
    validate_certs: bool = True
    username: str = ""
    password: str = ""
    helo_name: str = ""
    max_messages_per_connection: int = 10_000
    pipelining: bool = True


class SmtpMailer:
    def __init__(self, options: SmtpOptions) -> None:
        self._options = options

    def relay(self) -> Route:
        """The one route through the configured relay."""
        o = self._options
        return Route(f"relay {o.host}:{o.port}", (o.host,), o.port)

    def session(self, route: Route) -> SmtpSession:
        return SmtpSession(self._options, route)


class Withdrawn(Exception):
    """The message may not enter DATA (its ledger marker was refused)."""


class SmtpSession:
    def __init__(self, options: SmtpOptions, route: Route) -> None:
        self._o = options
        self._route = route
        self._smtp: aiosmtplib.SMTP | None = None
        self._reader: ReplyReader | None = None
        self._sent_on_connection = 0
        #: How far the current transaction got; read when it fails (a timeout included).
        self._stage = Stage.CONNECT
        #: The mail whose commands went out with the previous message, and their replies.
        self._announced: tuple[Mail, list[asyncio.Future[tuple[int, str]]]] | None = None

    async def send(self, transaction: Transaction) -> Reply:
        """With `following` (the next mail this session will be asked to
        send), its commands go out in the same write as this message (RFC 2920 allows the
        message content first in a group): one write and one round trip per mail."""
        self._stage = Stage.CONNECT
        if self._announced is not None and self._announced[0] is not transaction.mail:
            await self._drop()  # what was announced is not sent: its replies would mismatch
        try:
            await self._connect_if_needed()
            async with asyncio.timeout(self._o.timeout):
                if self._reader is not None:
                    reply = await self._pipelined(transaction)
                else:
                    reply = await self._stepwise(transaction)
        except SMTPResponseException as exc:
            await self._drop()
            code = exc.code if self._stage is Stage.CONNECT and exc.code >= 400 else None
            return Reply(self._stage, code, f"{type(exc).__name__}: {exc}"[:500])
        except (SMTPException, OSError, TimeoutError, ConnectionLost, Withdrawn) as exc:
            await self._drop()
            return Reply(self._stage, None, f"{type(exc).__name__}: {exc}"[:500])
        if reply.stage is Stage.END:
            self._sent_on_connection += 1
        if reply.code == SERVICE_CLOSING:
            await self._drop()
        elif reply.stage is not Stage.END:
            await self._reset()
        elif self._worn_out():
            await self._drop(quit=True)
        return reply

    async def close(self) -> None:
        await self._drop(quit=True)

    # ------------------------------------------------------------------ transactions

    async def _pipelined(self, transaction: Transaction) -> Reply:
        mail, following = transaction.mail, transaction.following
        reader = self._reader
        assert reader is not None and reader.transport is not None
        transport = reader.transport
        announced, self._announced = self._announced, None
        if announced is not None and announced[0] is mail:
            mail_reply, rcpt_reply, data_reply = announced[1]
        else:
            mail_reply, rcpt_reply, data_reply = reader.expect(3)
            transport.write(_commands(mail))
        self._stage = Stage.MAIL
        code, text = await mail_reply
        if code != 250:
            refusal = Reply(Stage.MAIL, code, text)
            return await _after_refusal(reader, refusal, rcpt_reply, data_reply)
        self._stage = Stage.RCPT
        code, text = await rcpt_reply
        if code not in (250, 251):
            return await _after_refusal(reader, Reply(Stage.RCPT, code, text), data_reply)
        self._stage = Stage.DATA
        code, text = await data_reply
        if code != 354:
            return Reply(Stage.DATA, code, text)
        await _enter(transaction.entering)
        (end_reply,) = reader.expect(1)
        if following is not None and not self._worn_out(1):
            self._announced = (following, reader.expect(3))
            transport.write(mail.data + _commands(following))
        else:
            transport.write(mail.data)
        self._stage = Stage.END
        code, text = await end_reply
        return Reply(Stage.END, code, text)

    async def _stepwise(self, transaction: Transaction) -> Reply:
        mail = transaction.mail
        smtp = self._smtp
        assert smtp is not None and smtp.protocol is not None
        protocol = smtp.protocol
        self._stage = Stage.MAIL
        r = await protocol.execute_command(b"MAIL FROM:<" + mail.mail_from.encode() + b">")
        if r.code != 250:
            return Reply(Stage.MAIL, r.code, r.message)
        self._stage = Stage.RCPT
        r = await protocol.execute_command(b"RCPT TO:<" + mail.rcpt.encode() + b">")
        if r.code not in (250, 251):
            return Reply(Stage.RCPT, r.code, r.message)
        self._stage = Stage.DATA
        r = await protocol.execute_command(b"DATA")
        if r.code != 354:
            return Reply(Stage.DATA, r.code, r.message)
        await _enter(transaction.entering)
        protocol.write(mail.data)
        self._stage = Stage.END
        r = await protocol.read_response()
        return Reply(Stage.END, r.code, r.message)

    # ------------------------------------------------------------------ connection

    async def _connect_if_needed(self) -> None:
        if self._reader is not None and not self._reader.lost:
            return
        if self._reader is None and self._smtp is not None and self._smtp.is_connected:
            return
        await self._drop()
        failure: Exception | None = None
        for host in self._route.hosts:  # in order of preference, until one answers
            try:
                async with asyncio.timeout(self._o.timeout):
                    await self._connect(host)
                return
            except (SMTPException, OSError, TimeoutError) as exc:
                await self._drop()
                failure = exc
        assert failure is not None
        raise failure

    async def _connect(self, host: str) -> None:
        o = self._o
        smtp = aiosmtplib.SMTP(
            hostname=host,
            port=self._route.port,
            timeout=o.timeout,
            use_tls=o.use_tls,
            start_tls=o.starttls,
            validate_certs=o.validate_certs,
            username=o.username or None,
            password=o.password or None,
            local_hostname=o.helo_name or None,
        )
        await smtp.connect()
        self._smtp = smtp
        if smtp.last_ehlo_response is None:
            await smtp.ehlo()
        self._sent_on_connection = 0
        if o.pipelining and smtp.supports_extension("pipelining"):
            # asyncio's and uvloop's transports both offer set_protocol/write/close.
            transport = cast(asyncio.Transport, smtp.transport)
            reader = ReplyReader()
            reader.transport = transport
            transport.set_protocol(reader)
            self._reader = reader

    async def _reset(self) -> None:
        """End a refused transaction; a connection that cannot do that is dropped."""
        try:
            async with asyncio.timeout(self._o.timeout):
                if self._reader is not None and self._reader.transport is not None:
                    (reply,) = self._reader.expect(1)
                    self._reader.transport.write(b"RSET\r\n")
                    code, _ = await reply
                elif self._smtp is not None:
                    code = (await self._smtp.rset()).code
                else:
                    return
            if code != 250:
                await self._drop()
        except (SMTPException, OSError, TimeoutError):
            await self._drop()

    def _worn_out(self, ahead: int = 0) -> bool:
        limit = self._o.max_messages_per_connection
        return bool(limit) and self._sent_on_connection + ahead >= limit

    async def _drop(self, *, quit: bool = False) -> None:
        smtp, reader = self._smtp, self._reader
        self._smtp = self._reader = None
        self._announced = None
        if reader is not None and reader.transport is not None:
            if quit and not reader.lost:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        (reply,) = reader.expect(1)
                        reader.transport.write(b"QUIT\r\n")
                        await reply
            reader.transport.close()
            return
        if smtp is None:
            return
        if quit and smtp.is_connected:
            with contextlib.suppress(SMTPException, OSError, TimeoutError):
                await smtp.quit()
        smtp.close()


async def _enter(entering: Awaitable[bool] | None) -> None:
    if entering is not None and not await entering:
        raise Withdrawn("its ledger marker was refused")


def _commands(mail: Mail) -> bytes:
    return b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (
        mail.mail_from.encode(),
        mail.rcpt.encode(),
    )


async def _after_refusal(
    reader: ReplyReader, refusal: Reply, *later: asyncio.Future[tuple[int, str]]
) -> Reply:
    """Collect the replies to the rest of the pipelined group. Should a server start DATA
    although no recipient was accepted, end it with an empty message."""
    for future in later:
        code, _ = await future
        if code == 354 and reader.transport is not None:
            (end,) = reader.expect(1)
            reader.transport.write(b".\r\n")
            await end
    return refusal
