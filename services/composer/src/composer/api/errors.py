"""Every 4xx answer has one shape: {"detail": summary, "errors": [{"field", "reason"}]}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from composer.domain import Conflict, FieldError, Forbidden, Invalid, NotFound


class ErrorItem(BaseModel):
    field: str | None
    reason: str
    allowed: list[str] | None = None


class ErrorBody(BaseModel):
    detail: str
    errors: list[ErrorItem]
    state: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}


def _answer(
    status: int,
    errors: list[FieldError],
    *,
    state: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        detail="; ".join(f"{e.field}: {e.reason}" if e.field else e.reason for e in errors),
        errors=[ErrorItem(field=e.field, reason=e.reason, allowed=e.allowed) for e in errors],
        state=state,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Invalid)
    async def invalid(_: Request, exc: Invalid) -> JSONResponse:
        return _answer(422, exc.errors)

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return _answer(403, [FieldError(exc.field or "role", exc.reason)])

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _answer(404, [FieldError("id", f"{exc.what} not found")])

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _answer(409, [FieldError("state", exc.reason)], state=exc.state)

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), e["msg"])
            for e in exc.errors()
        ]
        return _answer(422, errors)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _answer(
            exc.status_code,
            [FieldError("authorization" if exc.status_code == 401 else None, str(exc.detail))],
            headers=dict(exc.headers) if exc.headers else None,
        )


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
                response = _answer(413, [FieldError("body", reason)])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
