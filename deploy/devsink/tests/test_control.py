"""Runtime control and figures over HTTP, the command line, and the policy's clockwork."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass

import aiosmtplib
import pytest
from devsink_tests_helpers import a_message, get_json, http, put_policy, refused_code, send

from devsink import DevSink, RecipientPolicy
from devsink.__main__ import parse_config
from devsink.settings import PolicySettings


async def test_policy_reads_and_changes_at_runtime(sink: DevSink) -> None:
    assert await get_json(sink, "/policy") == {
        "greylist_seconds": 300.0,
        "slow_seconds": 2.0,
        "rate_limits": {},
    }

    changed = await put_policy(
        sink, slow_seconds=0.25, rate_limits={"A.example": 7, "b.example": 0}
    )
    assert changed == {
        "greylist_seconds": 300.0,
        "slow_seconds": 0.25,
        "rate_limits": {"a.example": 7, "b.example": 0},
    }
    # Fields left out stay; rate_limits is replaced as a whole.
    again = await put_policy(sink, greylist_seconds=5, rate_limits={"c.example": 1})
    assert again == {"greylist_seconds": 5.0, "slow_seconds": 0.25, "rate_limits": {"c.example": 1}}
    assert await get_json(sink, "/policy") == again


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"greylist": 3}',
        b'{"greylist_seconds": -1}',
        b'{"greylist_seconds": true}',
        b'{"slow_seconds": "2"}',
        b'{"slow_seconds": NaN}',
        b'{"slow_seconds": 1e999}',
        b'{"rate_limits": [["a.example", 1]]}',
        b'{"rate_limits": {"a.example": 1.5}}',
        b'{"rate_limits": {"a.example": -1}}',
        b'{"rate_limits": {"user@a.example": 1}}',
        b'{"rate_limits": {"": 1}}',
        b'{"slow_seconds": 1, "rate_limits": {"a.example": "x"}}',
    ],
)
async def test_a_bad_policy_body_is_a_400_and_changes_nothing(sink: DevSink, body: bytes) -> None:
    status, answer = await http(sink, "/policy", "PUT", body)

    assert status == 400
    assert json.loads(answer)["error"]
    assert (await get_json(sink, "/policy"))["slow_seconds"] == 2.0


async def test_an_oversized_body_is_refused_and_the_connection_closed(sink: DevSink) -> None:
    def call() -> bytes:
        with socket.create_connection(("127.0.0.1", sink.http_port), timeout=5) as conn:
            conn.sendall(b"PUT /policy HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n{}")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)

    answer = await asyncio.to_thread(call)

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in answer


async def test_stats_count_outcomes_per_recipient_domain(sink: DevSink) -> None:
    await send(sink, a_message("a@one.example"))
    await aiosmtplib.send(
        a_message("b@one.example"),
        hostname="127.0.0.1",
        port=sink.smtp_port,
        recipients=["b@One.Example", "c@one.example", "bounce@one.example"],
    )
    await refused_code(sink, "block@two.example")
    await refused_code(sink, "full@two.example")
    await refused_code(sink, "full.2@two.example")

    stats = await get_json(sink, "/stats")

    assert stats["count"] == 2
    assert stats["domains"] == {
        "one.example": {"accepted": 3, "refused": {"550": 1}, "sessions": 0, "peak_sessions": 1},
        "two.example": {
            "accepted": 0,
            "refused": {"552": 2, "554": 1},
            "sessions": 0,
            "peak_sessions": 1,
        },
    }
    assert stats["sessions"] == {"open": 0, "peak": 1}


async def test_stats_show_peak_concurrent_sessions_per_domain(sink: DevSink) -> None:
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.smtp_port) for _ in range(4)]
    for client in clients:
        await client.connect()
    for client in clients[:3]:
        await client.mail("sender@example.com")
        await client.rcpt("a@busy.example")
        await client.rcpt("b@busy.example")  # the same transaction counts once
    await clients[3].mail("sender@example.com")
    await clients[3].rcpt("a@quiet.example")

    during = await get_json(sink, "/stats")
    await clients[0].rset()  # the transaction ends: it no longer counts
    await clients[1].rset()
    await clients[1].mail("sender@example.com")
    await clients[1].rcpt("a@quiet.example")
    after_rset = await get_json(sink, "/stats")
    for client in clients:
        await client.quit()
    await asyncio.sleep(0.05)
    closed = await get_json(sink, "/stats")

    assert during["sessions"] == {"open": 4, "peak": 4}
    assert during["domains"]["busy.example"]["sessions"] == 3
    assert after_rset["domains"]["busy.example"]["sessions"] == 1
    assert after_rset["domains"]["quiet.example"]["sessions"] == 2
    assert closed["sessions"] == {"open": 0, "peak": 4}
    assert closed["domains"]["busy.example"]["peak_sessions"] == 3
    assert closed["domains"]["busy.example"]["sessions"] == 0
    assert closed["domains"]["quiet.example"]["peak_sessions"] == 2


async def test_reset_clears_counts_and_history_but_keeps_the_settings(sink: DevSink) -> None:
    await put_policy(sink, greylist_seconds=0.2, rate_limits={"r.example": 1})
    await send(sink, a_message("a@r.example"))
    assert (await refused_code(sink, "b@r.example"))[0] == 421
    assert (await refused_code(sink, "defer@example.com"))[0] == 451
    assert (await refused_code(sink, "grey@example.com"))[0] == 450
    await asyncio.sleep(0.25)

    assert await get_json(sink, "/policy/reset", method="POST") == {"reset": True}

    stats = await get_json(sink, "/stats")
    assert set(stats["rejected"].values()) == {0}
    assert stats["domains"] == {}
    assert stats["sessions"] == {"open": 0, "peak": 0}
    assert stats["count"] == 1, "reset keeps the mail"
    assert (await get_json(sink, "/policy"))["rate_limits"] == {"r.example": 1}
    await send(sink, a_message("b@r.example"))  # the rate window starts afresh
    assert (await refused_code(sink, "defer@example.com"))[0] == 451
    assert (await refused_code(sink, "grey@example.com"))[0] == 450


async def test_reset_keeps_counting_the_sessions_still_open(sink: DevSink) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.smtp_port)
    await client.connect()
    await client.mail("sender@example.com")
    await client.rcpt("a@open.example")

    await get_json(sink, "/policy/reset", method="POST")
    during = await get_json(sink, "/stats")
    await client.quit()
    await asyncio.sleep(0.05)
    after = await get_json(sink, "/stats")

    assert during["sessions"] == {"open": 1, "peak": 1}
    assert during["domains"]["open.example"] == {
        "accepted": 0,
        "refused": {},
        "sessions": 1,
        "peak_sessions": 1,
    }
    assert after["sessions"] == {"open": 0, "peak": 1}
    assert after["domains"]["open.example"]["sessions"] == 0


async def test_deleting_the_messages_also_resets_the_counts(sink: DevSink) -> None:
    await refused_code(sink, "bounce@example.com")

    await get_json(sink, "/messages", method="DELETE")

    stats = await get_json(sink, "/stats")
    assert (stats["rejected"]["bounce"], stats["domains"]) == (0, {})


async def test_policy_routes_refuse_other_methods(sink: DevSink) -> None:
    assert (await http(sink, "/policy", "DELETE"))[0] == 404
    assert (await http(sink, "/policy/reset"))[0] == 404


def test_command_line_sets_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVSINK_RATE_LIMITS", "env.example=9")
    monkeypatch.setenv("DEVSINK_GREYLIST_SECONDS", "30")

    from_env = parse_config([])
    from_flags = parse_config(
        ["--slow-seconds", "0.5", "--rate-limit", "A.example=50", "--rate-limit", "b.example=5"]
    )

    assert from_env.policy_settings == PolicySettings(30.0, 2.0, {"env.example": 9})
    assert from_flags.policy_settings == PolicySettings(
        30.0, 0.5, {"a.example": 50, "b.example": 5}
    )


@pytest.mark.parametrize(
    "argv",
    [["--greylist-seconds", "-1"], ["--slow-seconds", "x"], ["--rate-limit", "a.example"]],
)
def test_command_line_refuses_bad_policy_values(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_config(argv)
    assert exit_.value.code == 2


@dataclass
class Clock:
    """The policy's clock, moved by the test."""

    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_window_admits_at_most_the_limit_in_any_second() -> None:
    clock = Clock()
    policy = RecipientPolicy(PolicySettings(rate_limits={"d.example": 2}), clock)
    answers = []
    for at in (0.0, 0.5, 0.9, 1.0, 1.2, 1.5):
        clock.now = 100.0 + at
        answers.append(policy.refusal("x@d.example") is None)

    assert answers == [True, True, False, True, False, True]


def test_a_refused_recipient_does_not_use_up_the_rate() -> None:
    policy = RecipientPolicy(PolicySettings(rate_limits={"d.example": 1}), Clock())

    assert policy.refusal("bounce@d.example") is not None
    assert policy.refusal("ok@d.example") is None
    assert policy.refusal("ok2@d.example") == "421 4.7.0 Try again later, rate limited"


def test_lowering_a_limit_keeps_the_recent_history() -> None:
    policy = RecipientPolicy(PolicySettings(rate_limits={"d.example": 5}), Clock())
    for _ in range(3):
        assert policy.refusal("x@d.example") is None

    policy.settings = PolicySettings(rate_limits={"d.example": 3})

    assert policy.refusal("x@d.example") is not None


def test_greylisting_counts_from_the_first_attempt() -> None:
    clock = Clock()
    policy = RecipientPolicy(PolicySettings(greylist_seconds=300), clock)

    assert (policy.refusal("Grey@d.example") or "").startswith("450 4.7.1")
    clock.now += 299.9
    assert policy.refusal("grey@D.example") is not None
    clock.now += 0.1
    assert policy.refusal("grey@d.example") is None
