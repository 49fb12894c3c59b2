"""Every 4xx answer has one shape: {"detail": summary, "errors": [{"field", "reason"}]}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from recipients.domain import Conflict, FieldError, Invalid, NotFound
from recipients.imports import MalformedImport


class ErrorItem(BaseModel):
    field: str | None
    reason: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[ErrorItem]
    line: int | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 422)
}
IMPORT_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    415: {"model": ErrorBody, "description": "Neither CSV nor NDJSON."},
}


def answer(
    status: int,
    errors: list[FieldError],
    *,
    line: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        detail="; ".join(f"{e.field}: {e.reason}" if e.field else e.reason for e in errors),
        errors=[ErrorItem(field=e.field, reason=e.reason) for e in errors],
        line=line,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Invalid)
    async def invalid(_: Request, exc: Invalid) -> JSONResponse:
        return answer(422, exc.errors)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return answer(404, [FieldError("id", f"{exc.what} not found")])

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return answer(409, [FieldError(exc.field, exc.reason)])

    @app.exception_handler(MalformedImport)
    async def malformed_import(_: Request, exc: MalformedImport) -> JSONResponse:
        status = 415 if exc.line is None and "Content-Type" in exc.reason else 422
        where = f"line {exc.line}" if exc.line else "body"
        return answer(status, [FieldError(where, exc.reason)], line=exc.line)

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), e["msg"])
            for e in exc.errors()
        ]
        return answer(422, errors)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return answer(
            exc.status_code,
            [FieldError("authorization" if exc.status_code == 401 else None, str(exc.detail))],
            headers=dict(exc.headers) if exc.headers else None,
        )
