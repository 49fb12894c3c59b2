"""Digest mail over SMTP (aiosmtplib), reusing a few connections."""

from __future__ import annotations

import asyncio
import contextlib

import aiosmtplib

from notifier.mail import RenderedDigest
from notifier.ports import PermanentMailError


class SmtpMailer:
    """The `Mailer` port. At most `connections` SMTP sessions; a broken one is dropped."""

    def __init__(self, host: str, port: int, *, connections: int = 4, timeout: float = 30.0):
        self._host = host
        self._port = port
        self._timeout = timeout
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._slots = asyncio.Semaphore(connections)

    async def send(self, mail: RenderedDigest) -> None:
        async with self._slots:
            client = await self._client()
            try:
                await client.sendmail(mail.mail_from, [mail.rcpt_to], mail.data)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                self._idle.put_nowait(client)
                codes = [r.code for r in exc.recipients]
                if all(500 <= c < 600 for c in codes):
                    raise PermanentMailError(str(exc)) from exc
                raise
            except aiosmtplib.SMTPResponseException as exc:
                await _close(client)
                if 500 <= exc.code < 600:
                    raise PermanentMailError(f"{exc.code} {exc.message}") from exc
                raise
            except BaseException:
                await _close(client)
                raise
            self._idle.put_nowait(client)

    async def _client(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        client = aiosmtplib.SMTP(
            hostname=self._host, port=self._port, timeout=self._timeout, start_tls=False
        )
        await client.connect()
        return client

    async def close(self) -> None:
        while not self._idle.empty():
            await _close(self._idle.get_nowait())

    async def __aenter__(self) -> SmtpMailer:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


async def _close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        if client.is_connected:
            await client.quit()
    client.close()
