"""The one shape of every 4xx answer of the platform's HTTP APIs:

    {"detail": "<summary>", "errors": [{"field": ..., "reason": ..., "allowed": [...]}], ...}

Services map their own domain errors onto `error_response`; `install_common_handlers` covers
what FastAPI itself raises (malformed requests, authentication).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from servicekit.errors import DomainError, FieldError


class Problem(Protocol):
    @property
    def field(self) -> str | None: ...

    @property
    def reason(self) -> str: ...


class ErrorItem(BaseModel):
    field: str | None
    reason: str
    allowed: list[str] | None = None


class ErrorBody(BaseModel):
    detail: str
    errors: list[ErrorItem]
    state: str | None = None
    line: int | None = None


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given status codes."""
    return {code: {"model": ErrorBody} for code in codes}


def error_response(
    status: int,
    errors: Sequence[Problem],
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = ErrorBody(
        detail="; ".join(f"{e.field}: {e.reason}" if e.field else e.reason for e in errors),
        errors=[
            ErrorItem(field=e.field, reason=e.reason, allowed=getattr(e, "allowed", None))
            for e in errors
        ],
        **extra,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def install_common_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc.status, exc.errors, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), e["msg"])
            for e in exc.errors()
        ]
        return error_response(422, errors)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        field = "authorization" if exc.status_code == 401 else None
        return error_response(
            exc.status_code,
            [FieldError(field, str(exc.detail))],
            headers=dict(exc.headers) if exc.headers else None,
        )
