"""Hostile input against the running tracking service: its public port (TRACKING_BASE_URL),
its internal port (TRACKING_INTERNAL_URL) and its bounce intake (BOUNCE_SMTP_PORT), the
stack's by default. The bounds the service was started with are read from the same names
it reads (HTTP_HEAD_SECONDS, HTTP_MAX_CONNECTIONS, TRACKING_PROCESSES, HIT_REPLAY_LIMIT,
BOUNCE_MAX_BYTES), their defaults otherwise; events are read from Kafka (KAFKA_NAMESPACE).

Every attack gets a clear 4xx (or, on SMTP, a permanent 5xx) or is ignored as specified,
no answer shows an exception, the service keeps answering and its memory stays bounded."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from tracking_tests_fakes import dsn
from tracking_tests_support import LEAK, nested_mime, rss_mb, smtp_session, wide_mime

from contracts import decode_any, topics
from contracts.topics import TOPICS
from servicekit.tokens import Claims, Kind, TokenCodec
from testkit.hostile import raw

BASE = os.environ.get("TRACKING_BASE_URL", "http://127.0.0.1:8004")
INTERNAL = os.environ.get("TRACKING_INTERNAL_URL", "http://127.0.0.1:8014")
HOST, PORT = urlsplit(BASE).hostname or "127.0.0.1", urlsplit(BASE).port or 80
SMTP_PORT = int(os.environ.get("BOUNCE_SMTP_PORT", "2626"))
HEAD_SECONDS = float(os.environ.get("HTTP_HEAD_SECONDS", "10"))
MAX_CONNECTIONS = int(os.environ.get("HTTP_MAX_CONNECTIONS", "4096"))
PROCESSES = int(os.environ.get("TRACKING_PROCESSES", "2"))
REPLAY_LIMIT = int(os.environ.get("HIT_REPLAY_LIMIT", "20"))
MAX_MAIL = int(os.environ.get("BOUNCE_MAX_BYTES", str(2 * 1024 * 1024)))
HITS = (topics.OPENED, topics.CLICKED, topics.UNSUBSCRIBED)
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module", autouse=True)
def memory_before() -> float:
    return rss_mb(PORT, "tracking")


@pytest.fixture(scope="module")
def codec(stack) -> TokenCodec:  # type: ignore[no-untyped-def]
    return TokenCodec.from_secret(stack.token_secret)


def sign(codec: TokenCodec, kind: Kind, message_id: uuid.UUID, url: str | None = None) -> str:
    ids = (uuid.uuid4(), uuid.uuid4(), message_id, uuid.uuid4(), uuid.uuid4())
    return codec.sign(Claims(kind, int(time.time()) - 3600, *ids, url=url))


@asynccontextmanager
async def kafka_tail(
    bootstrap: str, names: tuple[str, ...] = HITS
) -> AsyncIterator[Callable[[], Awaitable[list[uuid.UUID]]]]:
    """Inside the block, `read()` answers the message ids of the events published since it
    began. An answer of the service means Kafka acknowledged its event: no waiting needed."""
    namespace = os.environ.get("KAFKA_NAMESPACE", "")
    parts = [
        TopicPartition(namespace + t.name, p)
        for t in TOPICS
        if t.name in names
        for p in range(t.partitions)
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for part in parts:
        await consumer.position(part)

    async def read() -> list[uuid.UUID]:
        ends, found = await consumer.end_offsets(parts), []
        while [p for p in parts if await consumer.position(p) < ends[p]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [getattr(decode_any(r.value), "message_id", None) for r in records]
        return [m for m in found if m is not None]

    try:
        yield read
    finally:
        await consumer.stop()


def clean(answer: bytes | str) -> None:
    text = answer.decode("latin-1") if isinstance(answer, bytes) else answer
    assert not LEAK.search(text), text[:500]


async def test_operations_and_documents_answer_on_the_internal_port_only() -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for path in ("/metrics", "/docs", "/openapi.json"):
            public = await http.get(BASE + path)
            assert public.status_code == 404, path
            assert (await http.get(INTERNAL + path)).status_code == 200, path
        metrics = (await http.get(INTERNAL + "/metrics")).text
    assert "tracking_replayed_hits_total" in metrics and "tracking_bounce_refused" in metrics


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /o/" + b"A" * 10_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", b"414"),
        (b"GET /o/x HTTP/1.1\r\n" + (b"X-Pad: " + b"p" * 4000 + b"\r\n") * 10 + b"\r\n", b"431"),
        (b"POST /u/x HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (
            b"POST /u/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"4000\r\n" + b"x" * 0x4000 + b"\r\n") * 5,
            b"413",
        ),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n", b"400"),
        (b"GET /o/x HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", b"400"),
    ],
    ids=["url", "head", "declared-body", "chunked-body", "tls-hello", "bad-length"],
)
async def test_oversized_and_malformed_requests_get_a_clear_4xx(request_bytes, status) -> None:
    answer = await raw(HOST, PORT, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    clean(answer)


async def test_slow_clients_are_cut_off_by_the_head_deadline() -> None:
    async def slow(first: bytes, drip: bytes, every: float) -> float:
        began = time.monotonic()
        reader, writer = await asyncio.open_connection(HOST, PORT)
        writer.write(first)
        try:
            while not reader.at_eof() and time.monotonic() - began < HEAD_SECONDS + 5:
                if drip:
                    writer.write(drip)
                try:
                    assert await asyncio.wait_for(reader.read(100), every) == b""
                except TimeoutError:
                    continue
        except ConnectionError:
            pass
        finally:
            writer.close()
        return time.monotonic() - began

    header_drip = slow(b"GET /o/x HTTP/1.1\r\nX-Slow: ", b"a", 0.5)
    byte_a_minute = slow(b"G", b"", 60)
    for elapsed in await asyncio.gather(header_drip, byte_a_minute):
        assert HEAD_SECONDS - 1 < elapsed < HEAD_SECONDS + 3


async def test_connections_beyond_the_cap_are_answered_503_and_it_recovers() -> None:
    held: list[asyncio.StreamWriter] = []

    async def connect() -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection(HOST, PORT)
        held.append(writer)
        return reader

    async def probe() -> bytes:
        reader = await connect()
        held[-1].write(b"GET /o/x HTTP/1.1\r\nHost: t\r\n\r\n")
        return (await asyncio.wait_for(reader.readline(), 10)).split(b" ")[1]

    statuses: set[bytes] = set()
    try:
        # Idle connections count as well; the kernel spreads them unevenly over processes.
        while b"503" not in statuses and len(held) < MAX_CONNECTIONS * (PROCESSES + 1):
            await asyncio.gather(*(connect() for _ in range(min(512, MAX_CONNECTIONS))))
            statuses |= set(await asyncio.gather(*(probe() for _ in range(8))))
    finally:
        for writer in held:
            writer.close()
    assert b"503" in statuses and statuses <= {b"200", b"503"}, statuses
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(BASE + "/healthz")).status_code == 200


async def test_forged_truncated_and_resigned_tokens_make_no_event(stack, codec) -> None:
    message = uuid.uuid4()
    valid = sign(codec, Kind.OPEN, message)
    other_key = TokenCodec({1: b"not-the-service-key"})  # an attacker's key: any strength
    hostile_tokens = [
        valid[:-3],  # truncated
        valid[:30] + ("A" if valid[30] != "A" else "B") + valid[31:],  # altered
        sign(other_key, Kind.OPEN, message),  # re-signed with another key
        sign(other_key, Kind.CLICK, message, url="https://evil.example/"),
        sign(codec, Kind.UNSUBSCRIBE, message)[:-1],
        "A" * 150,
        "../../etc/passwd",
    ]
    async with kafka_tail(stack.kafka) as read, httpx.AsyncClient(timeout=10) as http:
        for token in hostile_tokens:
            path = quote(token, safe="")
            assert (await http.get(f"{BASE}/o/{path}")).status_code == 200
            click = await http.get(f"{BASE}/c/{path}")
            assert click.status_code in (404, 405) and "location" not in click.headers
            post = await http.post(f"{BASE}/u/{path}", content=b"List-Unsubscribe=One-Click")
            assert post.status_code in (404, 405)
            clean(click.text + post.text)
        assert (await http.get(f"{BASE}/o/{valid}")).status_code == 200  # the control
        assert (await read()).count(message) == 1


async def test_a_replayed_token_is_answered_but_makes_no_event_beyond_the_bound(stack, codec):
    message = uuid.uuid4()
    pixel, link = sign(codec, Kind.OPEN, message), sign(codec, Kind.CLICK, message, url=BASE)
    one_connection = httpx.Limits(max_connections=1)  # one connection stays with one process
    async with (
        kafka_tail(stack.kafka) as read,
        httpx.AsyncClient(base_url=BASE, limits=one_connection, timeout=10) as http,
    ):
        pixels = [(await http.get(f"/o/{pixel}")).status_code for _ in range(3 * REPLAY_LIMIT)]
        clicks = [(await http.get(f"/c/{link}")).status_code for _ in range(3 * REPLAY_LIMIT)]
        assert set(pixels) == {200} and set(clicks) == {302}
        events = await read()
    # A reconnect may land on another process, which has a bound of its own.
    assert 2 * REPLAY_LIMIT <= events.count(message) <= 2 * REPLAY_LIMIT * PROCESSES


async def test_bounce_recipients_without_a_token_are_refused() -> None:
    async with smtp_session(HOST, SMTP_PORT) as smtp:
        for rcpt in ("postmaster@bounces.example.com", "a" * 63 + "@x", "<>", "x@[127.0.0.1]"):
            reply, _ = await smtp.mail(rcpt, b"Subject: x\r\n\r\nx\r\n")
            assert reply[:1] == "5", reply
        assert (await smtp.say("MAIL FROM:<>")).startswith("250")
        assert (await smtp.say("RCPT TO:<postmaster@x>")).startswith("550 5.1.1 ")
        assert (await smtp.say("DATA")).startswith("503")


@pytest.fixture
def return_path(codec) -> str:  # type: ignore[no-untyped-def]
    return f"{codec.sign_bounce(uuid.uuid4(), uuid.uuid4())}@bounces.example.com"


@pytest.mark.parametrize(
    ("mail", "reply"),
    [
        (b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * (MAX_MAIL // 1000 + 2), "552 5.3.4 "),
        (nested_mime(1500), "554 5.6.0 "),
        (nested_mime(1500, "message"), "554 5.6.0 "),
        (wide_mime(1000), "554 5.6.0 "),
        (dsn("gone@example.org") + b"L" * 300_000 + b"\r\n", "554 5.6.0 "),
    ],
    ids=["oversized", "nested-multipart", "nested-message", "wide", "300-kb-line"],
)
async def test_mail_no_report_can_be_is_refused_permanently(return_path, mail, reply) -> None:
    async with smtp_session(HOST, SMTP_PORT) as smtp:
        rcpt_reply, data_reply = await smtp.mail(return_path, mail)
        assert rcpt_reply.startswith("250 ") and data_reply.startswith(reply), data_reply


async def test_a_size_declared_too_large_is_refused_before_the_data() -> None:
    async with smtp_session(HOST, SMTP_PORT) as smtp:
        assert (await smtp.say(f"MAIL FROM:<> SIZE={MAX_MAIL + 1}")).startswith("552 5.3.4 ")


async def test_garbage_commands_get_permanent_answers() -> None:
    async with smtp_session(HOST, SMTP_PORT) as smtp:
        for garbage in (b"\x16\x03\x01\x00\xa5\x01", b"GET / HTTP/1.1", b"NOOP " + b"n" * 300_000):
            assert (await smtp.say(garbage))[:1] == "5", garbage
    reader, writer = await asyncio.open_connection(HOST, SMTP_PORT)
    await reader.readline()
    for _ in range(6):  # too many unknown commands: answered, then the connection closes
        writer.write(b"XYZZY\r\n")
    answers = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answers.splitlines()[-1].startswith(b"502 5.5.1 ")
    clean(answers)


async def test_the_service_still_answers_and_its_memory_stayed_bounded(memory_before) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(BASE + "/healthz")).status_code == 200
    async with smtp_session(HOST, SMTP_PORT):
        pass
    assert rss_mb(PORT, "tracking") < memory_before + 64, "memory grew by more than 64 MB"
