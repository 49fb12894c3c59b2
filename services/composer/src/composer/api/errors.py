"""Every 4xx answer has one shape: {"detail": summary, "errors": [{"field", "reason"}]}."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.api_errors import error_response, error_responses
from servicekit.errors import FieldError

ERROR_RESPONSES = error_responses(401, 403, 404, 409, 422)


class BodyLimit:
    """Refuses a request whose declared body is larger than `limit` bytes (413), before
    anything reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.limit:
                reason = f"request body larger than {self.limit} bytes"
                response = error_response(413, [FieldError("body", reason)])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
