"""Open and click endpoints as replies, shared by the fast HTTP server and the FastAPI routes.

A reply goes out only once Kafka acknowledged the hit's event: the endpoint hands the reply
to `respond` from the publisher's acknowledgement callback. A bad token gets its reply at
once and publishes nothing; so does a token replayed beyond the bound (`tracking.replay`),
whose reply is the usual one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import lru_cache

from prometheus_client import Counter

from contracts import Event
from servicekit.tokens import TokenCodec
from tracking import metrics
from tracking.domain import PIXEL, MachineRules
from tracking.handlers import click_hit, open_hit
from tracking.ports import Publisher
from tracking.replay import ReplayBound


class Reply:
    """Status, headers and body of one response; `head` is the wire form of the first two."""

    __slots__ = ("asgi", "body", "head", "headers", "status")

    def __init__(self, status: int, headers: tuple[tuple[str, str], ...], body: bytes = b""):
        self.status, self.headers, self.body = status, headers, body
        lines = [f"{name}: {value}\r\n" for name, value in headers]
        lines.append(f"content-length: {len(body)}\r\n")
        self.head = "".join(lines).encode("latin-1")
        self.asgi = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers] + [
            (b"content-length", str(len(body)).encode())
        ]


_NO_STORE = ("cache-control", "no-store, max-age=0")
_TEXT = ("content-type", "text/plain; charset=utf-8")

PIXEL_REPLY = Reply(200, (("content-type", "image/gif"), _NO_STORE), PIXEL)
NOT_FOUND = Reply(404, (_TEXT, _NO_STORE), b"not found\n")
UNAVAILABLE = Reply(503, (_TEXT, _NO_STORE, ("retry-after", "5")), b"try again later\n")

Respond = Callable[[Reply], None]

_OPENS, _CLICKS = metrics.HITS.labels("open"), metrics.HITS.labels("click")
_BAD_OPENS = metrics.REJECTED_TOKENS.labels("open")
_BAD_CLICKS = metrics.REJECTED_TOKENS.labels("click")
_REPLAYED_OPENS = metrics.REPLAYED.labels("open")
_REPLAYED_CLICKS = metrics.REPLAYED.labels("click")


@lru_cache(maxsize=8192)
def _redirect(location: str) -> Reply:
    return Reply(302, (("location", location), _NO_STORE))


class HitEndpoints:
    def __init__(
        self,
        tokens: TokenCodec,
        publisher: Publisher,
        rules: MachineRules,
        replays: ReplayBound,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens, self._publisher, self._rules, self._clock = tokens, publisher, rules, clock
        self._replays = replays

    def pixel(self, token: str, user_agent: str, respond: Respond) -> None:
        now = self._clock()
        event = open_hit(token, user_agent, tokens=self._tokens, now=now)
        if event is None:
            # A broken image in a customer's mail helps nobody: the pixel all the same.
            _BAD_OPENS.inc()
            respond(PIXEL_REPLY)
        elif not self._replays.admit(token, now):
            _REPLAYED_OPENS.inc()
            respond(PIXEL_REPLY)
        else:
            self._after_ack(event, PIXEL_REPLY, _OPENS, respond)

    def click(self, token: str, user_agent: str, respond: Respond) -> None:
        now = self._clock()
        click = click_hit(token, user_agent, tokens=self._tokens, now=now, rules=self._rules)
        if click is None:
            _BAD_CLICKS.inc()
            respond(NOT_FOUND)
        elif not self._replays.admit(token, now):
            # The person still gets where the link goes; only the event is left out.
            _REPLAYED_CLICKS.inc()
            respond(_redirect(click.location))
        else:
            self._after_ack(click.event, _redirect(click.location), _CLICKS, respond)

    def _after_ack(self, event: Event, reply: Reply, counter: Counter, respond: Respond) -> None:
        def acknowledged(waiter: asyncio.Future[None]) -> None:
            if waiter.exception() is None:
                counter.inc()
                respond(reply)
            else:
                metrics.PUBLISH_FAILURES.inc()
                respond(UNAVAILABLE)

        self._publisher.submit(event).add_done_callback(acknowledged)

    async def pixel_reply(self, token: str, user_agent: str) -> Reply:
        return await _awaited(self.pixel, token, user_agent)

    async def click_reply(self, token: str, user_agent: str) -> Reply:
        return await _awaited(self.click, token, user_agent)


async def _awaited(endpoint: Callable[[str, str, Respond], None], token: str, ua: str) -> Reply:
    future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
    endpoint(token, ua, future.set_result)
    return await future
