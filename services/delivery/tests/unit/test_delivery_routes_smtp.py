"""The SMTP session against a dev sink in this process (withdrawal before DATA, falling
back along a route's exchangers) and the MX router against a resolver that answers from
a table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dns.resolver
import pytest

from delivery.adapters.mx import MxRouter
from delivery.adapters.smtp import SmtpMailer, SmtpOptions
from delivery.bounces import Stage
from delivery.ports import Route, Transaction
from devsink import DevSink, SinkConfig
from mailkit.render import Mail


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[DevSink]:
    running = DevSink(SinkConfig(smtp_port=0, http_port=0, store_dir=tmp_path))
    await running.start()
    yield running
    await running.stop()


def mail(rcpt: str) -> Mail:
    data = f"From: a@example.com\r\nTo: {rcpt}\r\nSubject: t\r\n\r\nhello\r\n.\r\n".encode()
    return Mail("bounce-token@b.example", rcpt, data)


async def verdict(value: bool) -> bool:
    return value


async def test_a_withdrawn_message_is_never_written(sink: DevSink) -> None:
    mailer = SmtpMailer(SmtpOptions("127.0.0.1", sink.smtp_port, timeout=5))
    session = mailer.session(mailer.relay())
    try:
        refused = await session.send(Transaction(mail("a@x.example"), entering=verdict(False)))
        assert (refused.stage, refused.code) == (Stage.DATA, None)
        assert "Withdrawn" in refused.text
        accepted = await session.send(Transaction(mail("b@x.example"), entering=verdict(True)))
        assert (accepted.stage, accepted.code) == (Stage.END, 250)
    finally:
        await session.close()
    assert [m.rcpt_to for m in sink.state.store.find(to=None, after=0, limit=10)] == [
        ("b@x.example",)
    ]


async def test_a_session_falls_back_along_its_exchangers(sink: DevSink) -> None:
    mailer = SmtpMailer(SmtpOptions("unused", 0, timeout=5))
    route = Route("mx x.example", ("127.0.0.9", "127.0.0.1"), sink.smtp_port)
    session = mailer.session(route)
    try:
        reply = await session.send(Transaction(mail("c@x.example")))
    finally:
        await session.close()
    assert (reply.stage, reply.code) == (Stage.END, 250)


class Record:
    """An MX record (`10 mx.example.`) or an address, as dnspython's answers hold them."""

    def __init__(self, text: str) -> None:
        preference, _, exchange = text.partition(" ")
        self.preference = int(preference) if exchange else 0
        self.exchange = exchange
        self._text = text

    def to_text(self) -> str:
        return self._text


class Answer(list[Any]):
    class rrset:
        ttl = 300


class TableResolver:
    def __init__(self, table: dict[tuple[str, str], list[str]]) -> None:
        self._table = table
        self.asked: list[tuple[str, str]] = []

    async def resolve(self, name: str, kind: str) -> Answer:
        self.asked.append((name, kind))
        await asyncio.sleep(0)
        if (name, kind) in self._table:
            return Answer(Record(t) for t in self._table[(name, kind)])
        if any(n == name for n, _ in self._table):
            raise dns.resolver.NoAnswer()
        raise dns.resolver.NXDOMAIN()


async def test_exchangers_come_lowest_preference_first_and_answers_are_kept() -> None:
    resolver = TableResolver(
        {
            ("x.example", "MX"): ["20 mx2.x.example.", "10 mx1.x.example."],
            ("mx1.x.example", "A"): ["192.0.2.1"],
            ("mx2.x.example", "A"): ["192.0.2.2"],
            ("bare.example", "A"): ["192.0.2.3"],
            ("null.example", "MX"): ["0 ."],
        }
    )
    router = MxRouter(resolver, 2525)  # type: ignore[arg-type]
    route = await router.route("x.example")
    assert isinstance(route, Route) and route.hosts == ("192.0.2.1", "192.0.2.2")
    asked = len(resolver.asked)
    assert await router.route("x.example") == route and len(resolver.asked) == asked
    implicit = await router.route("bare.example")
    assert isinstance(implicit, Route) and implicit.hosts == ("192.0.2.3",)
    null = await router.route("null.example")
    assert not isinstance(null, Route) and (null.code, null.text[:6]) == (556, "5.1.10")
    gone = await router.route("gone.example")
    assert not isinstance(gone, Route) and (gone.code, gone.text[:5]) == (550, "5.1.2")
