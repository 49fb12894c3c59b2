"""The bounce intake over real SMTP (the app's listener, fake Kafka and store): who may send
to it, what it takes, and the permanent answers to what no report is."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from prometheus_client import REGISTRY
from tracking_tests_fakes import (
    SECRET,
    TOKENS,
    FakeMailStore,
    FakePublisher,
    ThreadedTracking,
    dsn,
    ids,
)

from testkit.fakes import FakeDatabase
from tracking.bootstrap import Ports
from tracking.main import bounce_listener
from tracking.settings import Settings

MAX_BYTES = 64 * 1024
#: What an exception looks like when it leaks into an answer.
LEAK = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b")


class Session:
    """One SMTP conversation on raw lines; `say` returns the server's (last) reply line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def reply(self) -> str:
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 10)).decode()
            assert not LEAK.search(line), line
            if line[3:4] != "-":
                return line.rstrip("\r\n")

    async def say(self, line: bytes | str) -> str:
        data = line.encode() if isinstance(line, str) else line
        self.writer.write(data + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def mail(self, rcpt: str, raw: bytes) -> tuple[str, str]:
        """RCPT's reply and the reply at the end of DATA (of the envelope from MAIL on)."""
        assert (await self.say("MAIL FROM:<>")).startswith("250")
        rcpt_reply = await self.say(f"RCPT TO:<{rcpt}>")
        if not rcpt_reply.startswith("250"):
            await self.say("RSET")
            return rcpt_reply, ""
        assert (await self.say("DATA")).startswith("354")
        self.writer.write(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n")
        return rcpt_reply, await self.say(".")


class Intake:
    def __init__(self, **settings: object) -> None:
        self.publisher, self.store = FakePublisher(), FakeMailStore()
        options = {"bounce_max_bytes": MAX_BYTES, **settings}
        self.settings = Settings(token_secret=SECRET, bounce_smtp_port=0, **options)
        self.ports = Ports(FakeDatabase(), self.publisher, self.store, TOKENS)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with bounce_listener(self.settings, self.ports) as server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            talk = Session(reader, writer)
            assert (await talk.reply()).startswith("220")
            assert (await talk.say("EHLO mx.example.net")).startswith("250")
            try:
                yield talk
                assert (await talk.say("NOOP")).startswith("250"), "the session goes on"
            finally:
                writer.close()


def return_path() -> str:
    tenant, _, message, _, _ = ids()
    return f"{TOKENS.sign_bounce(tenant, message)}@bounces.example.com"


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("tracking_bounce_refused_total", {"reason": reason}) or 0.0


@pytest.mark.parametrize(
    "rcpt", ["postmaster@bounces.example.com", "nobody", "aaaa@x", return_path()[:40] + "@x"]
)
async def test_a_recipient_without_a_bounce_token_is_refused_at_rcpt(rcpt: str) -> None:
    intake, before = Intake(), refused("no_token")
    async with intake.session() as smtp:
        assert (await smtp.say("MAIL FROM:<>")).startswith("250")
        reply = await smtp.say(f"RCPT TO:<{rcpt}>")
        assert reply.startswith("550 5.1.1 ") and "delivery reports" in reply
        assert (await smtp.say("DATA")).startswith("503"), "no recipient, no mail"
        await smtp.say("RSET")
    assert intake.store.kept == [] and intake.publisher.events == []
    assert refused("no_token") == before + 1


async def test_a_report_to_a_return_path_is_taken() -> None:
    intake = Intake()
    async with intake.session() as smtp:
        assert await smtp.mail(return_path(), dsn("gone@example.org")) == (
            "250 2.1.5 OK",
            "250 2.0.0 OK: received",
        )
    assert [e.email for e in intake.publisher.events] == ["gone@example.org"]


async def test_mail_over_the_size_cap_is_refused_permanently() -> None:
    intake, before = Intake(), refused("too_large")
    async with intake.session() as smtp:
        declared = await smtp.say(f"MAIL FROM:<> SIZE={MAX_BYTES + 1}")
        assert declared.startswith("552 5.3.4 ") and str(MAX_BYTES) in declared
        big = dsn("gone@example.org") + b"x" * 900 + (b"\r\n" + b"y" * 900) * (MAX_BYTES // 900)
        _, reply = await smtp.mail(return_path(), big)
        assert reply.startswith("552 5.3.4 ")
    assert intake.store.kept == [] and intake.publisher.events == []
    assert refused("too_large") == before + 2


async def test_a_300_kb_line_is_refused_permanently() -> None:
    intake = Intake()
    async with intake.session() as smtp:
        _, reply = await smtp.mail(return_path(), dsn("a@example.org") + b"A" * 300_000)
        assert reply.startswith("554 5.6.0 ") and "1000 octets" in reply
        assert (await smtp.say(b"NOOP " + b"B" * 300_000)).startswith("500 5.5.2 ")
    assert intake.store.kept == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Content-Type: message/rfc822\r\n\r\n" * 1500 + b"Subject: x\r\n\r\nx", "too_deep"),
        (
            b"".join(
                b'Content-Type: multipart/mixed; boundary="%d"\r\n\r\n--%d\r\n' % (i, i)
                for i in range(1500)
            ),
            "too_deep",
        ),
        (
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            + b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 500,
            "too_many_parts",
        ),
    ],
)
async def test_structures_no_report_has_are_refused_permanently(raw: bytes, reason: str) -> None:
    intake = Intake(bounce_max_bytes=2 * 1024 * 1024)  # the default: 1,500 levels fit
    before = refused(reason)
    async with intake.session() as smtp:
        _, reply = await smtp.mail(return_path(), raw)
        assert reply.startswith("554 5.6.0 "), reply
    assert intake.store.kept == [] and refused(reason) == before + 1


async def test_garbage_commands_get_permanent_answers_and_the_session_goes_on() -> None:
    async with Intake().session() as smtp:
        for garbage in (b"\x16\x03\x01\x00\xa5", b"GET / HTTP/1.1", b"RCPT TO:<x@y>", b"DATA"):
            assert (await smtp.say(garbage))[:1] == "5", garbage


def test_the_running_service_purges_kept_mail_after_the_retention() -> None:
    with ThreadedTracking(inbound_mail_purge_interval_s=0.05) as server:
        for age in (30.0, 1.0, 15.0):
            server.store.kept.append((b"mail %d" % age, "", [], "not_dsn"))
            server.store.ages.append(age)
        deadline = time.monotonic() + 5
        while len(server.store.kept) > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert server.store.ages == [1.0], "older than INBOUND_MAIL_RETENTION_DAYS (14) are gone"
