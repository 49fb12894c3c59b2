"""Mailbox-provider answers over real SMTP: refusals, greylisting, slow replies, rate limits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiosmtplib
import pytest
from devsink_tests_helpers import (
    a_message,
    conversation,
    get_json,
    put_policy,
    refused_code,
    send,
    sink_config,
)

from devsink import DevSink


async def test_block_recipient_is_refused_for_policy_with_554(sink: DevSink) -> None:
    assert await refused_code(sink, "block.me@example.com") == (
        554,
        "5.7.1 Message rejected due to policy",
    )
    assert (await get_json(sink, "/stats"))["rejected"]["block"] == 1


async def test_full_recipient_is_refused_as_mailbox_full_with_552(sink: DevSink) -> None:
    assert await refused_code(sink, "Full-1@example.com") == (
        552,
        "5.2.2 <Full-1@example.com>: mailbox full",
    )
    assert (await get_json(sink, "/stats"))["rejected"]["full"] == 1


async def test_grey_recipient_gets_450_until_the_greylist_time_has_passed(sink: DevSink) -> None:
    await put_policy(sink, greylist_seconds=1)
    started = time.monotonic()

    assert await refused_code(sink, "grey.a@example.com") == (
        450,
        "4.7.1 <grey.a@example.com>: greylisted, try again later",
    )
    # The next message of a VERP sender has another return path: the clock keeps running.
    assert (await refused_code(sink, "grey.a@example.com", sender="b+2@example.net"))[0] == 450
    await asyncio.sleep(1.05 - (time.monotonic() - started))
    await send(sink, a_message("grey.a@example.com"), sender="b+3@example.net")
    # Once through, the address stays through.
    await send(sink, a_message("grey.a@example.com"), sender="b+4@example.net")

    assert len(await get_json(sink, "/messages?to=grey.a@example.com")) == 2
    assert (await get_json(sink, "/stats"))["rejected"]["grey"] == 2


async def test_each_grey_address_waits_from_its_own_first_attempt(sink: DevSink) -> None:
    await put_policy(sink, greylist_seconds=1)
    assert (await refused_code(sink, "grey.first@example.com"))[0] == 450
    await asyncio.sleep(0.6)
    assert (await refused_code(sink, "grey.second@example.com"))[0] == 450
    await asyncio.sleep(0.5)

    await send(sink, a_message("grey.first@example.com"))
    assert (await refused_code(sink, "grey.second@example.com"))[0] == 450


async def test_greylisting_ends_at_once_when_its_time_is_set_to_zero(sink: DevSink) -> None:
    assert (await refused_code(sink, "grey.z@example.com"))[0] == 450

    await put_policy(sink, greylist_seconds=0)

    await send(sink, a_message("grey.z@example.com"))
    await send(sink, a_message("grey.new@example.com"))


async def test_slow_recipient_waits_at_the_end_of_data_not_at_rcpt(sink: DevSink) -> None:
    await put_policy(sink, slow_seconds=0.5)
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.smtp_port)
    async with client:
        await client.mail("sender@example.com")
        started = time.monotonic()
        await client.rcpt("slow.x@example.com")
        rcpt_seconds = time.monotonic() - started
        started = time.monotonic()
        code, reply = await client.data(a_message("slow.x@example.com").as_bytes())
        data_seconds = time.monotonic() - started

    assert rcpt_seconds < 0.3
    assert data_seconds >= 0.5
    assert (code, reply.startswith("2.0.0 OK queued as")) == (250, True)
    assert len(await get_json(sink, "/messages?to=slow.x@example.com")) == 1


async def test_slow_message_is_not_stored_when_the_client_gives_up(sink: DevSink) -> None:
    await put_policy(sink, slow_seconds=5)
    reader, writer = await asyncio.open_connection("127.0.0.1", sink.smtp_port)
    commands = "EHLO t\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<slow@example.com>\r\nDATA\r\n"
    writer.write(commands.encode() + b"Subject: x\r\n\r\nbody\r\n.\r\n")
    await writer.drain()
    while b"354" not in await reader.readline():
        pass
    writer.close()
    await asyncio.sleep(0.2)

    stats = await get_json(sink, "/stats")
    assert stats["count"] == 0
    assert stats["sessions"]["open"] == 0


async def test_rate_limit_trips_with_421_and_recovers_after_a_second(sink: DevSink) -> None:
    await put_policy(sink, rate_limits={"rl.example": 3})
    started = time.monotonic()
    for n in range(3):
        await send(sink, a_message(f"user{n}@rl.example"))

    assert await refused_code(sink, "user3@rl.example") == (
        421,
        "4.7.0 Try again later, rate limited",
    )
    await send(sink, a_message("other@example.com"))  # other domains are not held back
    assert time.monotonic() - started < 1, "too slow a machine to see the limit trip"
    await asyncio.sleep(1.05 - (time.monotonic() - started))
    await send(sink, a_message("user3@rl.example"))

    stats = await get_json(sink, "/stats")
    assert stats["rejected"]["rate_limited"] == 1
    assert stats["domains"]["rl.example"]["accepted"] == 4
    assert stats["domains"]["rl.example"]["refused"] == {"421": 1}


async def test_a_421_closes_the_connection_and_ignores_what_was_pipelined(sink: DevSink) -> None:
    await put_policy(sink, rate_limits={"closed.example": 0})

    lines = await conversation(
        sink,
        "EHLO client.example",
        "MAIL FROM:<a@example.com>",
        "RCPT TO:<x@example.com>",
        "RCPT TO:<y@closed.example>",
        "DATA",
        "Subject: never stored",
        "",
        ".",
        "QUIT",
    )

    assert lines[-3:] == ["250 OK", "250 2.1.5 OK", "421 4.7.0 Try again later, rate limited"]
    await asyncio.sleep(0.05)
    stats = await get_json(sink, "/stats")
    assert stats["count"] == 0
    assert stats["sessions"]["open"] == 0
    assert stats["domains"]["example.com"]["accepted"] == 0


async def test_rate_limits_given_at_start_apply(tmp_path: Path) -> None:
    sink = DevSink(sink_config(tmp_path, rate_limits={"Start.Example": 1}))
    await sink.start()
    try:
        await send(sink, a_message("a@start.example"))
        assert (await refused_code(sink, "b@START.example"))[0] == 421
        policy = await get_json(sink, "/policy")
        assert policy["rate_limits"] == {"start.example": 1}
    finally:
        await sink.stop()


@pytest.mark.parametrize("prefix", ["bounce", "defer", "block", "full", "grey"])
async def test_a_rate_limited_domain_answers_421_before_any_mailbox_rule(
    sink: DevSink, prefix: str
) -> None:
    await put_policy(sink, rate_limits={"busy.example": 0})

    assert (await refused_code(sink, f"{prefix}@busy.example"))[0] == 421
