"""A small HTTP/1.1 server: pixel and click on a short path, everything else through ASGI.

Opens and clicks are the volume of the service, and a general ASGI server spends several
times more per request than these two need (scope dicts, a task, message dicts). So this
protocol parses with httptools and hands `GET /o/<token>` and `GET /c/<token>` straight to
`HitEndpoints`; every other request (unsubscribe pages, /healthz, /metrics, docs) goes to
the FastAPI app through a minimal ASGI call with a buffered body. Responses on a connection
go out in request order; while one waits for Kafka, later pipelined requests wait too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httptools

from tracking.hits import HitEndpoints, Reply

log = logging.getLogger(__name__)

ASGIApp = Callable[..., Any]

_MAX_URL = 8192
_MAX_HEADERS = 32 * 1024
_MAX_BODY = 64 * 1024
_IDLE_SECONDS = 75.0

_STATUS = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_CLOSE = b"connection: close\r\n"
_BAD_REQUEST = Reply(400, (("content-type", "text/plain; charset=utf-8"),), b"bad request\n")
_TOO_LARGE = Reply(413, (("content-type", "text/plain; charset=utf-8"),), b"too large\n")
_SERVER_ERROR = Reply(500, (("content-type", "text/plain; charset=utf-8"),), b"error\n")


class _Request:
    __slots__ = ("body", "headers", "keep_alive", "method", "url", "user_agent")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.user_agent = ""
        self.method = b""
        self.keep_alive = True


class _Clock:
    """The Date header, rendered once a second rather than once a response."""

    def __init__(self) -> None:
        self._second = 0
        self._line = b""

    def date_line(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = f"date: {formatdate(now, usegmt=True)}\r\n".encode()
        return self._line


class HttpProtocol(asyncio.Protocol):
    def __init__(self, front: Front) -> None:
        self._front = front
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._request = _Request()
        self._header_bytes = 0
        self._queue: deque[_Request] = deque()
        self._busy = False
        self._paused = False
        self._error: Reply | None = None
        self._too_large = False
        self.last_active = time.monotonic()

    # ------------------------------------------------------------ transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Pipelined answers are separate small writes; Nagle would hold the second one
            # until the client's delayed ACK (40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._front.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._front.connections.discard(self)
        self._transport = None
        self._queue.clear()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:  # also what our callbacks raise, wrapped
            self._fail(_TOO_LARGE if self._too_large else _BAD_REQUEST)
        except httptools.HttpParserUpgrade:
            # No WebSocket or h2c here: the request is answered as plain HTTP, then the
            # connection closes instead of switching protocols.
            self._request.keep_alive = False
            if self._transport is not None:
                self._transport.pause_reading()
                if self.idle:
                    self._transport.close()

    # ------------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        self._request = _Request()
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._request.url += url
        if len(self._request.url) > _MAX_URL:
            self._too_large = True
            raise _TooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > _MAX_HEADERS:
            self._too_large = True
            raise _TooLarge
        name = name.lower()
        if name == b"user-agent":
            self._request.user_agent = value.decode("latin-1")
        self._request.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._request.body += body
        if len(self._request.body) > _MAX_BODY:
            self._too_large = True
            raise _TooLarge

    def on_message_complete(self) -> None:
        request = self._request
        request.method = self._parser.get_method()
        request.keep_alive = self._parser.should_keep_alive()
        if self._busy:
            self._queue.append(request)
            if not self._paused and self._transport is not None:
                self._paused = True
                self._transport.pause_reading()
            return
        self._handle(request)

    # ------------------------------------------------------------ requests and replies

    def _handle(self, request: _Request) -> None:
        self._busy = True
        self._front.dispatch(request, lambda reply: self._reply(request, reply))

    def _reply(self, request: _Request, reply: Reply) -> None:
        self._busy = False
        keep_alive = request.keep_alive and not self._front.stopping and self._error is None
        if not self._write(reply, keep_alive=keep_alive, head=request.method == b"HEAD"):
            return
        if self._error is not None:
            self._write(self._error, keep_alive=False, head=False)
        elif self._queue:
            self._handle(self._queue.popleft())
        elif self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    def _write(self, reply: Reply, *, keep_alive: bool, head: bool) -> bool:
        """Send one response; False when the connection is (now) closed."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        transport.write(
            b"".join(
                (
                    _STATUS.get(reply.status) or f"HTTP/1.1 {reply.status} \r\n".encode(),
                    reply.head,
                    self._front.clock.date_line(),
                    b"" if keep_alive else _CLOSE,
                    b"\r\n",
                    b"" if head else reply.body,
                )
            )
        )
        self.last_active = time.monotonic()
        if not keep_alive:
            transport.close()
        return keep_alive

    def _fail(self, reply: Reply) -> None:
        """A request that cannot be parsed: answer it after any reply in progress, then close."""
        self._queue.clear()
        if self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        if self._busy:
            self._error = reply
        else:
            self._write(reply, keep_alive=False, head=False)

    @property
    def idle(self) -> bool:
        return not self._busy and not self._queue

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class _TooLarge(Exception):
    pass


class Front:
    """What the protocol dispatches to; one per process."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self._state = state
        self.clock = _Clock()
        self.connections: set[HttpProtocol] = set()
        self.stopping = False
        self.server_address: tuple[str, int] | None = None

    def dispatch(self, request: _Request, respond: Callable[[Reply], None]) -> None:
        # A fragment is never sent by browsers; cut it like the query so that it changes nothing.
        path = request.url.partition(b"?")[0].partition(b"#")[0]
        hits: HitEndpoints | None = self._state.get("hits")
        if request.method == b"GET" and hits is not None:
            prefix = path[:3]
            if prefix == b"/o/":
                hits.pixel(path[3:].decode("latin-1"), request.user_agent, respond)
                return
            if prefix == b"/c/":
                hits.click(path[3:].decode("latin-1"), request.user_agent, respond)
                return
        task = asyncio.get_running_loop().create_task(self._asgi(request, path))

        def answered(task: asyncio.Task[Reply]) -> None:
            if not task.cancelled():
                respond(task.result())

        task.add_done_callback(answered)

    async def _asgi(self, request: _Request, raw_path: bytes) -> Reply:
        """One request through the ASGI app, its response buffered."""
        query = request.url.partition(b"?")[2]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method.decode("ascii"),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": request.headers,
            "client": None,
            "server": self.server_address,
            "state": dict(self._state),
        }
        done = asyncio.Event()
        sent_body = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, send)
        except Exception:
            log.exception("unhandled error for %s %r", request.method, raw_path[:200])
            return _SERVER_ERROR
        finally:
            done.set()
        body = b"".join(chunks)
        kept = tuple(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in headers
            if k.lower() not in (b"content-length", b"transfer-encoding", b"connection", b"date")
        )
        reply = Reply(status, kept, body)
        if request.method == b"HEAD":
            # The app's idea of the length stands for the body a GET would have had.
            length = next((v for k, v in headers if k.lower() == b"content-length"), None)
            if length is not None:
                reply.head = reply.head.rsplit(b"content-length:", 1)[0] + (
                    b"content-length: " + length + b"\r\n"
                )
        return reply


@contextlib.asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[dict[str, Any]]:
    """Run the ASGI app's lifespan (startup before serving, shutdown after); yields the
    state the app's startup filled in."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    state: dict[str, Any] = {}
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.get_running_loop().create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}, inbox.get, outbox.put)
    )
    started = await _lifespan_step(task, outbox)
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"startup failed: {started.get('message', '')}")
    try:
        yield state
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await _lifespan_step(task, outbox)
        if stopped["type"] != "lifespan.shutdown.complete":
            log.error("shutdown failed: %s", stopped.get("message", ""))
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _lifespan_step(task: asyncio.Task[Any], outbox: asyncio.Queue[dict[str, Any]]) -> Any:
    getter = asyncio.ensure_future(outbox.get())
    await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    task.result()  # raises what the app raised
    return {"type": "lifespan.failed", "message": "the app ended its lifespan"}


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A listening TCP socket; with `reuse_port`, several processes share the port and the
    kernel spreads connections over them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serving(front: Front, sock: socket.socket, *, grace: float = 10.0) -> AsyncIterator[None]:
    """Serve on `sock` until the block ends; then stop accepting and let replies finish."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(front), sock=sock, backlog=2048)
    front.server_address = sock.getsockname()[:2]
    sweeper = loop.create_task(_close_idle(front))
    try:
        yield
    finally:
        front.stopping = True
        sweeper.cancel()
        server.close()
        # Replies finish in protocol callbacks, so there is no event to wait for: poll.
        for _ in range(max(1, int(grace / 0.05))):
            if all(c.idle for c in front.connections):
                break
            await asyncio.sleep(0.05)
        for connection in list(front.connections):
            connection.close()
        await server.wait_closed()


async def _close_idle(front: Front) -> None:
    while True:
        await asyncio.sleep(_IDLE_SECONDS / 5)
        cutoff = time.monotonic() - _IDLE_SECONDS
        for connection in list(front.connections):
            if connection.idle and connection.last_active < cutoff:
                connection.close()
