"""Request bodies are bounded while they stream (SPEC §11): before a route reads them, and
so before authentication and validation, which come after the body in FastAPI."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.api_errors import error_response
from servicekit.errors import FieldError


class BodyLimit:
    """Refuses a body larger than `limit` bytes with 413: at once when its declared length
    says so, otherwise as soon as the bytes received pass the limit (chunked bodies)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        body = None if declared.isdigit() and int(declared) > self.limit else b""
        if body is not None:
            body = await self._read(receive)
        if body is None:
            reason = f"request body larger than {self.limit} bytes"
            # The rest of the body is never read: the connection closes after the answer.
            refusal = error_response(413, [FieldError("body", reason)])
            refusal.headers["connection"] = "close"
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""  # the client went away; the app sees that too
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
