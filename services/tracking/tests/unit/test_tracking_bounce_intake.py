"""The bounce intake over real SMTP (the app's listener, fake Kafka and store): who may send
to it, what it takes, and the permanent answers to what no report is."""

from __future__ import annotations

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
from tracking_tests_support import SmtpSession, nested_mime, smtp_session, wide_mime

from testkit.fakes import FakeDatabase
from tracking.bootstrap import Ports
from tracking.main import bounce_listener
from tracking.settings import Settings

MAX_BYTES = 64 * 1024


class Intake:
    def __init__(self, **settings: object) -> None:
        self.publisher, self.store = FakePublisher(), FakeMailStore()
        options = {"bounce_max_bytes": MAX_BYTES, **settings}
        self.settings = Settings(token_secret=SECRET, bounce_smtp_port=0, **options)
        self.ports = Ports(FakeDatabase(), self.publisher, self.store, TOKENS)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SmtpSession]:
        async with bounce_listener(self.settings, self.ports) as server:
            port = server.sockets[0].getsockname()[1]
            async with smtp_session("127.0.0.1", port) as talk:
                yield talk

    async def mail_to_return_path(self, raw: bytes) -> tuple[str, str]:
        """`SmtpSession.mail` to a return path, in a session of its own."""
        async with self.session() as smtp:
            return await smtp.mail(return_path(), raw)


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
    assert await intake.mail_to_return_path(dsn("gone@example.org")) == (
        "250 2.1.5 OK",
        "250 2.0.0 OK: received",
    )
    assert [[r.email for r in e.recipients] for e in intake.publisher.events] == [
        ["gone@example.org"]
    ]


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
        (nested_mime(1500, "message"), "too_deep"),
        (nested_mime(1500), "too_deep"),
        (wide_mime(500), "too_many_parts"),
    ],
)
async def test_structures_no_report_has_are_refused_permanently(raw: bytes, reason: str) -> None:
    intake = Intake(bounce_max_bytes=2 * 1024 * 1024)  # the default: 1,500 levels fit
    before = refused(reason)
    _, reply = await intake.mail_to_return_path(raw)
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
