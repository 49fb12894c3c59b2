"""Reading the replies of a pipelining SMTP session: each reply, in order, goes to the
command written before it; a lost connection fails every reply still awaited."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

log = logging.getLogger(__name__)

MAX_REPLY = 64 * 1024


class ConnectionLost(ConnectionError):
    pass


class ReplyReader(asyncio.Protocol):
    """Pairs SMTP replies, in order, with the commands written before them."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiting: deque[asyncio.Future[tuple[int, str]]] = deque()
        self._lines: list[bytes] = []
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def expect(self, count: int) -> list[asyncio.Future[tuple[int, str]]]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(count)]
        self._waiting.extend(futures)
        return futures

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_REPLY:
                    self._fail(ConnectionLost("reply too long"))
                return
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            self._lines.append(line)
            if line[3:4] == b"-":
                continue  # more lines of the same reply follow
            lines, self._lines = self._lines, []
            self._deliver(lines)

    def _deliver(self, lines: list[bytes]) -> None:
        try:
            code = int(lines[-1][:3])
        except ValueError:
            self._fail(ConnectionLost(f"malformed reply {lines[-1]!r}"))
            return
        text = "\n".join(line[4:].strip().decode("utf-8", "replace") for line in lines)
        if not self._waiting:
            log.warning("unexpected SMTP reply: %s %s", code, text)
            return
        waiter = self._waiting.popleft()
        if not waiter.done():
            waiter.set_result((code, text))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(ConnectionLost(f"connection lost: {exc!r}"))

    def _fail(self, exc: Exception) -> None:
        self.lost = True
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(exc)
                waiter.exception()  # retrieved: nobody may await it any more
        if self.transport is not None:
            self.transport.close()
