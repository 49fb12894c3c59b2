"""Every 4xx answer has one shape: {"detail": summary, "errors": [{"field", "reason"}]}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from composer.domain import Conflict, FieldError, Forbidden, Invalid, NotFound
from servicekit.api_errors import error_response, error_responses, install_common_handlers

ERROR_RESPONSES = error_responses(401, 403, 404, 409, 422)


def install(app: FastAPI) -> None:
    install_common_handlers(app)

    @app.exception_handler(Invalid)
    async def invalid(_: Request, exc: Invalid) -> JSONResponse:
        return error_response(422, exc.errors)

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return error_response(403, [FieldError(exc.field or "role", exc.reason)])

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, [FieldError("id", f"{exc.what} not found")])

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return error_response(409, [FieldError("state", exc.reason)], state=exc.state)


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
