"""What tests of the bounce intake and of a running service share: an SMTP conversation on
raw lines, hostile MIME, the sign of an exception leaking into an answer, and the memory of
the processes listening on a port. Importable as `tracking_tests_support`."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from testkit import hostile

#: What an exception looks like when it leaks into an answer.
LEAK = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b")


class SmtpSession:
    """One SMTP conversation on raw lines; `say` returns the server's (last) reply line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def reply(self) -> str:
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 30)).decode()
            assert not LEAK.search(line), line
            if line[3:4] != "-":
                return line.rstrip("\r\n")

    async def say(self, line: bytes | str) -> str:
        data = line.encode() if isinstance(line, str) else line
        self.writer.write(data + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def mail(self, rcpt: str, raw: bytes) -> tuple[str, str]:
        """RCPT's reply and the reply at the end of DATA (empty when RCPT was refused)."""
        assert (await self.say("MAIL FROM:<>")).startswith("250")
        rcpt_reply = await self.say(f"RCPT TO:<{rcpt}>")
        if not rcpt_reply.startswith("250"):
            await self.say("RSET")
            return rcpt_reply, ""
        assert (await self.say("DATA")).startswith("354")
        self.writer.write(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n")
        return rcpt_reply, await self.say(".")


@asynccontextmanager
async def smtp_session(host: str, port: int) -> AsyncIterator[SmtpSession]:
    """A session after EHLO; when the block ends, the server must still answer NOOP."""
    reader, writer = await asyncio.open_connection(host, port)
    talk = SmtpSession(reader, writer)
    try:
        assert (await talk.reply()).startswith("220")
        assert (await talk.say("EHLO mx.example.net")).startswith("250")
        yield talk
        assert (await talk.say("NOOP")).startswith("250"), "the session goes on"
    finally:
        writer.close()


def nested_mime(levels: int, kind: str = "multipart") -> bytes:
    """`levels` parts, each inside the one before."""
    if kind == "message":
        return b"Content-Type: message/rfc822\r\n\r\n" * levels + b"Subject: x\r\n\r\nx\r\n"
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(levels)
    )
    return head + b"Content-Type: text/plain\r\n\r\nx\r\n"


def wide_mime(parts: int) -> bytes:
    return b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + (
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * parts
    )


def rss_mb(port: int, service: str) -> float:
    """The largest resident memory among the processes listening on `port` (a supervisor and
    its workers share it), from `ss`; else from the pid file of the stack's `service`."""
    listing = _run("ss", "-ltnpH", f"sport = :{port}")
    pids = sorted(set(re.findall(r"pid=(\d+)", listing)))
    if not pids:
        return hostile.rss_mb(service)
    return max(int(kb) for kb in _run("ps", "-o", "rss=", "-p", ",".join(pids)).split()) / 1024


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout
