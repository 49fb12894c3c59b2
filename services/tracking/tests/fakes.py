"""Fakes of tracking's ports, and the fast HTTP server running in a thread for tests."""

from __future__ import annotations

import asyncio
import http.client
import multiprocessing
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from contracts import Event
from servicekit.tokens import Claims, Kind, TokenCodec
from testkit.fakes import FakeDatabase
from tracking.__main__ import config, listen
from tracking.bootstrap import Ports
from tracking.fastpath import HitFastPath
from tracking.front import PortSplit
from tracking.main import create_app
from tracking.settings import Settings

SECRET = "1:" + "9c4e2a6b8d0f1357" * 4
TOKENS = TokenCodec.from_secret(SECRET)
NOW = 1_800_000_000.0


class FakePublisher:
    """Acknowledges at once (or refuses everything when `failing`)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.failing = False

    def submit(self, event: Event) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failing:
            future.set_exception(ConnectionError("Kafka is down"))
        else:
            self.events.append(event)
            future.set_result(None)
        return future

    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            await self.submit(event)


class FakeMailStore:
    """Kept mail, with each one's age in days (tests age them by hand)."""

    def __init__(self) -> None:
        self.kept: list[tuple[bytes, str, list[str], str]] = []
        self.ages: list[float] = []

    async def keep(self, raw: bytes, *, mail_from: str, rcpt_tos: list[str], reason: str) -> None:
        self.kept.append((raw, mail_from, rcpt_tos, reason))
        self.ages.append(0.0)

    async def purge(self, *, older_than_days: int, limit: int) -> int:
        old = [i for i, age in enumerate(self.ages) if age > older_than_days][:limit]
        for i in reversed(old):
            del self.kept[i], self.ages[i]
        return len(old)


def ids(seed: int = 1) -> list[uuid.UUID]:
    return [uuid.UUID(int=seed * 1_000 + i) for i in range(5)]


def sign(kind: Kind, *, url: str | None = None, seed: int = 1, sent: float = NOW - 3600) -> str:
    return TOKENS.sign(Claims(kind, int(sent), *ids(seed), url=url))


class ThreadedTracking:
    """The real front (uvicorn with the guarded protocol) and app, with fake ports, on two
    ports of 127.0.0.1 (public and internal), in a thread."""

    def __init__(self, now: float = NOW, **settings: Any) -> None:
        self.publisher = FakePublisher()
        self.store = FakeMailStore()

        @asynccontextmanager
        async def fakes(_: Settings) -> AsyncIterator[Ports]:
            yield Ports(FakeDatabase(), self.publisher, self.store, TOKENS, lambda: now)

        self._sock = listen("127.0.0.1", 0)
        self._internal = listen("127.0.0.1", 0)
        self.port = self._sock.getsockname()[1]
        self.internal_port = self._internal.getsockname()[1]
        options = {"token_secret": SECRET, "bounce_intake": False, **settings}
        app = create_app(Settings(**options), build=fakes)
        self.app = PortSplit(HitFastPath(app), self.internal_port)
        front = config(Settings(**options), self.app, loop="asyncio", workers=None)
        self._server = uvicorn.Server(front)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock, self._internal]}
        )

    def __enter__(self) -> ThreadedTracking:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def wait_for_events(self, count: int, timeout: float = 2.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while len(self.publisher.events) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return list(self.publisher.events)


def dsn(
    recipient: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    to: str = "return@bounces.example.com",
    original_recipient: bool = True,
) -> bytes:
    """An RFC 3464 report, as Postfix writes them."""
    original = f"Original-Recipient: rfc822;{recipient}\n" if original_recipient else ""
    return f"""\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Date: Fri, 27 Nov 2026 10:00:00 +0900
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B0UNDARY"

--B0UNDARY
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UNDARY
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4ABCDEF
Arrival-Date: Fri, 27 Nov 2026 09:59:58 +0900

Final-Recipient: rfc822; {recipient.lower()}
{original}Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.org
Diagnostic-Code: {diagnostic.format(rcpt=recipient)}

--B0UNDARY
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Subject: Spring sale
Message-ID: <abc@example.com>

--B0UNDARY--
""".replace("\n", "\r\n").encode()


class Client:
    """A keep-alive HTTP client for the threaded server; reconnects when the server closes."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            result = response.status, {k.lower(): v for k, v in response.getheaders()}, data
            if response.will_close:
                self._conn.close()
                self._conn = None
            return result
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


class PipelinedClient:
    """Sends several requests in one write and reads the answers in order (they all carry
    a Content-Length); one round trip per batch keeps thousands of requests fast."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._sock: socket.socket | None = None
        self._file: Any = None

    def exchange(
        self, requests: list[tuple[str, str, bytes, dict[str, str]]]
    ) -> list[tuple[int, dict[str, str], bytes]]:
        if self._sock is None:
            self._sock = socket.create_connection(("127.0.0.1", self._port), timeout=10)
            self._file = self._sock.makefile("rb")
        wire = []
        for method, path, body, headers in requests:
            lines = [f"{method} {path} HTTP/1.1", "Host: tracking.test"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            lines.append(f"Content-Length: {len(body)}")
            wire.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        self._sock.sendall(b"".join(wire))
        answers = [self._read(head=method == "HEAD") for method, *_ in requests]
        if any(h.get("connection") == "close" for _, h, _ in answers):
            self.close()
        return answers

    def _read(self, *, head: bool) -> tuple[int, dict[str, str], bytes]:
        status_line = self._file.readline()
        if not status_line:
            raise ConnectionError("closed by the server")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self._file.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        return status, headers, self._file.read(length)

    def close(self) -> None:
        if self._sock is not None:
            self._file.close()
            self._sock.close()
            self._sock = self._file = None


class ForkedTracking:
    """ThreadedTracking in a forked process: the test's own work (hypothesis) and the server
    then use both cores instead of sharing one interpreter lock. `published()` counts the
    events the server's fake publisher accepted."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self._published = ctx.Value("i", 0)
        self._ports: Any = ctx.SimpleQueue()
        self._stop = ctx.Event()
        self._process = ctx.Process(target=self._serve, daemon=True)
        self.port = 0

    def _serve(self) -> None:
        with ThreadedTracking() as server:
            submit = server.publisher.submit

            def counting_submit(event: Event) -> asyncio.Future[None]:
                with self._published.get_lock():
                    self._published.value += 1
                return submit(event)

            server.publisher.submit = counting_submit  # type: ignore[method-assign]
            self._ports.put(server.port)
            self._stop.wait()

    def published(self) -> int:
        return int(self._published.value)

    def __enter__(self) -> ForkedTracking:
        self._process.start()
        self.port = self._ports.get()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
