"""The sink started in-process on free ports, driven over real SMTP and HTTP."""

from __future__ import annotations

from pathlib import Path

import aiosmtplib
from devsink_tests_helpers import a_message, get_json, http, refused_code, send, sink_config

from devsink import DevSink, MessageStore


async def test_accepted_mail_is_stored_and_listed(sink: DevSink) -> None:
    await send(sink, a_message("alice@example.com"))
    await send(sink, a_message("bob@example.com", subject="other"))

    listed = await get_json(sink, "/messages?to=alice@example.com")

    assert len(listed) == 1
    summary = listed[0]
    assert summary["mail_from"] == "sender@example.com"
    assert summary["rcpt_to"] == ["alice@example.com"]
    assert summary["subject"] == "Grüße aus dem Test"
    assert summary["headers"]["X-Campaign-Id"] == "c-1"
    status, raw = await http(sink, f"/messages/{summary['id']}/raw")
    assert status == 200
    assert b"\n.leading dot survives" in raw
    assert summary["size"] == len(raw)
    assert (await get_json(sink, "/stats"))["count"] == 2


async def test_listing_pages_with_after_and_limit(sink: DevSink) -> None:
    for n in range(5):
        await send(sink, a_message(f"user{n}@example.com"))

    first_page = await get_json(sink, "/messages?limit=2")
    next_page = await get_json(sink, f"/messages?after={first_page[-1]['id']}&limit=10")

    assert [m["rcpt_to"][0] for m in first_page + next_page] == [
        f"user{n}@example.com" for n in range(5)
    ]


async def test_bounce_recipient_is_refused_with_550(sink: DevSink) -> None:
    code, text = await refused_code(sink, "bounce-1@example.com")

    assert code == 550
    assert text.startswith("5.1.1 <bounce-1@example.com>")
    stats = await get_json(sink, "/stats")
    assert stats["count"] == 0
    assert stats["rejected"] == {
        "bounce": 1,
        "defer": 0,
        "block": 0,
        "full": 0,
        "grey": 0,
        "rate_limited": 0,
    }


async def test_defer_recipient_gets_451_twice_then_is_accepted(sink: DevSink) -> None:
    assert await refused_code(sink, "defer.x@example.com") == (451, "4.7.1 try again later")
    assert (await refused_code(sink, "defer.x@example.com"))[0] == 451

    await send(sink, a_message("defer.x@example.com"))

    assert len(await get_json(sink, "/messages?to=defer.x@example.com")) == 1
    rejected = (await get_json(sink, "/stats"))["rejected"]
    assert (rejected["bounce"], rejected["defer"]) == (0, 2)


async def test_mixed_recipients_store_only_the_accepted_ones(sink: DevSink) -> None:
    message = a_message("carol@example.com")
    await aiosmtplib.send(
        message,
        hostname="127.0.0.1",
        port=sink.smtp_port,
        recipients=["carol@example.com", "bounce@example.com"],
    )

    (stored,) = await get_json(sink, "/messages")
    assert stored["rcpt_to"] == ["carol@example.com"]


async def test_messages_survive_a_restart(tmp_path: Path) -> None:
    first = DevSink(sink_config(tmp_path))
    await first.start()
    await send(first, a_message("dave@example.com"))
    await first.stop()

    second = DevSink(sink_config(tmp_path))
    await second.start()
    try:
        (stored,) = await get_json(second, "/messages?to=dave@example.com")
        assert stored["subject"] == "Grüße aus dem Test"
        await send(second, a_message("erin@example.com"))
        ids = [m["id"] for m in await get_json(second, "/messages")]
        assert ids == [1, 2]
    finally:
        await second.stop()


async def test_delete_clears_memory_and_file_but_ids_keep_growing(tmp_path: Path) -> None:
    first = DevSink(sink_config(tmp_path))
    await first.start()
    await send(first, a_message("frank@example.com"))
    assert await get_json(first, "/messages", method="DELETE") == {"deleted": 1}
    assert await get_json(first, "/messages") == []
    await first.stop()

    second = DevSink(sink_config(tmp_path))
    await second.start()
    try:
        assert await get_json(second, "/messages") == []
        await send(second, a_message("grace@example.com"))
        assert [m["id"] for m in await get_json(second, "/messages")] == [2]
    finally:
        await second.stop()


async def test_unknown_route_and_bad_query_are_client_errors(sink: DevSink) -> None:
    assert (await http(sink, "/nope"))[0] == 404
    assert (await http(sink, "/messages/999/raw"))[0] == 404
    assert (await http(sink, "/messages?after=x"))[0] == 400
    assert await get_json(sink, "/healthz") == {"status": "ok"}


def test_store_drops_a_record_cut_short_by_a_kill(tmp_path: Path) -> None:
    store = MessageStore(tmp_path)
    store.open()
    store.add("a@example.com", ["b@example.com"], b"Subject: one\r\n\r\nbody\r\n")
    store.add("a@example.com", ["c@example.com"], b"Subject: two\r\n\r\nbody\r\n")
    store.close()
    log = tmp_path / "messages.log"
    log.write_bytes(log.read_bytes()[:-5])

    reopened = MessageStore(tmp_path)
    reopened.open()
    reopened.add("a@example.com", ["d@example.com"], b"Subject: three\r\n\r\nbody\r\n")
    reopened.close()

    final = MessageStore(tmp_path)
    final.open()
    assert [m.rcpt_to for m in final.find()] == [("b@example.com",), ("d@example.com",)]
    final.close()
