"""Every 4xx answer has one shape: {"detail": summary, "errors": [{"field", "reason"}]}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from recipients.domain import Conflict, FieldError, Invalid, NotFound
from recipients.imports import MalformedImport
from servicekit.api_errors import (
    ErrorBody,
    error_response,
    error_responses,
    install_common_handlers,
)

ERROR_RESPONSES = error_responses(401, 404, 409, 422)
IMPORT_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    415: {"model": ErrorBody, "description": "Neither CSV nor NDJSON."},
}


def install(app: FastAPI) -> None:
    install_common_handlers(app)

    @app.exception_handler(Invalid)
    async def invalid(_: Request, exc: Invalid) -> JSONResponse:
        return error_response(422, exc.errors)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, [FieldError("id", f"{exc.what} not found")])

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return error_response(409, [FieldError(exc.field, exc.reason)])

    @app.exception_handler(MalformedImport)
    async def malformed_import(_: Request, exc: MalformedImport) -> JSONResponse:
        status = 415 if exc.line is None and "Content-Type" in exc.reason else 422
        where = f"line {exc.line}" if exc.line else "body"
        return error_response(status, [FieldError(where, exc.reason)], line=exc.line)
