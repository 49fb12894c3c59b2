"""A small HTTP/1.1 JSON API over the caught mail, on plain asyncio streams.

GET    /healthz                 {"status": "ok"}
GET    /stats                   {"count": n, "rejected": {kind: n}, "sessions": {...},
                                 "domains": {domain: {...}}}
GET    /policy                  {"greylist_seconds": s, "slow_seconds": s, "rate_limits": {}}
PUT    /policy                  change the fields given, answer the whole policy
POST   /policy/reset            forget greylist, deferral and rate history and the counts
GET    /messages?to=&after=&limit=   oldest first, ids greater than `after`
GET    /messages/<id>           one summary
GET    /messages/<id>/raw       the RFC 5322 bytes as received
DELETE /messages                forget all mail, and everything `POST /policy/reset` forgets

README.md describes the bodies.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devsink.settings import InvalidSetting
from devsink.state import SinkState

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
MAX_HEADER_LINES = 100
# Policy bodies are small; a megabyte still fits thousands of per-domain rate limits.
MAX_BODY = 1 << 20

Response = tuple[HTTPStatus, str, bytes]


class BadRequest(Exception):
    pass


class SinkApi:
    def __init__(self, state: SinkState) -> None:
        self._store, self._policy, self._sink_stats = state.store, state.policy, state.stats

    def respond(self, method: str, target: str, body: bytes = b"") -> Response:
        url = urlsplit(target)
        parts = [part for part in url.path.split("/") if part]
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        try:
            return self._route(method, parts, query, body)
        except (BadRequest, InvalidSetting) as error:
            return _json(HTTPStatus.BAD_REQUEST, {"error": str(error)})

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: bytes) -> Response:
        match method, parts:
            case "GET", ["healthz"]:
                return _json(HTTPStatus.OK, {"status": "ok"})
            case "GET", ["stats"]:
                return _json(HTTPStatus.OK, self._stats())
            case "GET", ["policy"]:
                return _json(HTTPStatus.OK, self._policy.settings.as_json())
            case "PUT", ["policy"]:
                self._policy.settings = self._policy.settings.updated(_json_body(body))
                return _json(HTTPStatus.OK, self._policy.settings.as_json())
            case "POST", ["policy", "reset"]:
                self._reset_counters()
                return _json(HTTPStatus.OK, {"reset": True})
            case "GET", ["messages"]:
                return _json(HTTPStatus.OK, self._list(query))
            case "DELETE", ["messages"]:
                deleted = self._store.clear()
                self._reset_counters()
                return _json(HTTPStatus.OK, {"deleted": deleted})
            case "GET", ["messages", message_id]:
                message = self._store.get(_int(message_id, "id"))
                if message is None:
                    return _json(HTTPStatus.NOT_FOUND, {"error": "no such message"})
                return _json(HTTPStatus.OK, message.summary())
            case "GET", ["messages", message_id, "raw"]:
                message = self._store.get(_int(message_id, "id"))
                if message is None:
                    return _json(HTTPStatus.NOT_FOUND, {"error": "no such message"})
                return HTTPStatus.OK, "message/rfc822", message.raw
        return _json(HTTPStatus.NOT_FOUND, {"error": f"no route for {method} /{'/'.join(parts)}"})

    def _stats(self) -> dict[str, Any]:
        return {
            "count": self._store.count,
            "rejected": dict(self._policy.rejected),
            **self._sink_stats.as_json(),
        }

    def _reset_counters(self) -> None:
        self._policy.reset()
        self._sink_stats.reset()

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        limit = min(_int(query.get("limit", str(DEFAULT_LIMIT)), "limit"), MAX_LIMIT)
        messages = self._store.find(
            to=query.get("to") or None,
            after=_int(query.get("after", "0"), "after"),
            limit=max(limit, 0),
        )
        return [message.summary() for message in messages]

    async def handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while await self._serve_one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _serve_one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; return whether the connection stays open."""
        request_line = await reader.readline()
        if not request_line.strip():
            return False
        headers = await _read_headers(reader)
        body_length = _body_length(headers)
        request_body = await reader.readexactly(body_length) if body_length > 0 else b""
        try:
            method, target, version = request_line.decode("latin-1").split()
        except ValueError:
            method, target, version = "", "", ""
        if not method or body_length < 0:
            # The body could not be skipped, so the next request could not be found: close.
            error = "bad request line" if not method else "bad or too large Content-Length"
            status, content_type, body = _json(HTTPStatus.BAD_REQUEST, {"error": error})
            keep_alive = False
        else:
            status, content_type, body = self.respond(method.upper(), target, request_body)
            keep_alive = version == "HTTP/1.1" and headers.get("connection", "") != "close"
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await writer.drain()
        return keep_alive


async def start_http_server(api: SinkApi, host: str, port: int) -> asyncio.Server:
    return await asyncio.start_server(api.handle_connection, host, port, reuse_address=True)


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = (await reader.readline()).decode("latin-1").strip()
        if not line:
            return headers
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    raise ConnectionError("too many header lines")


def _body_length(headers: dict[str, str]) -> int:
    """The request body's length; -1 when it is malformed or over MAX_BODY."""
    text = headers.get("content-length", "0") or "0"
    if not text.isdigit() or int(text) > MAX_BODY:
        return -1
    return int(text)


def _json_body(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        raise BadRequest("the body must be JSON") from None


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {text!r}") from None


def _json(status: HTTPStatus, payload: Any) -> Response:
    return status, "application/json", json.dumps(payload).encode()
