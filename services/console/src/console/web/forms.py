"""Calling an API from a form: its refusals become the form's errors, anything else is an
error page (see main)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi.responses import RedirectResponse, Response

from console.errors import ApiError, FormErrors
from console.web.visit import Visit

SHOWN_BY_THE_FORM = (403, 409, 413, 415, 422)


async def attempt(
    call: Awaitable[Any], fields: dict[str, str] | None = None
) -> tuple[Any, FormErrors]:
    try:
        return await call, FormErrors()
    except ApiError as exc:
        if exc.status not in SHOWN_BY_THE_FORM:
            raise
        return None, FormErrors.of(exc, fields)


def required(*fields: tuple[str, str, str]) -> FormErrors:
    """The message of each field left empty, given as (field, value, message)."""
    errors = FormErrors()
    for name, value, message in fields:
        if not value:
            errors.add(name, message)
    return errors


def done(user: Visit, message: str, to: str) -> Response:
    """After a change: say what happened on the next page (post, redirect, get)."""
    user.flash(message)
    return RedirectResponse(to, status_code=303)


def attributes_text(attributes: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in attributes.items())


def parse_attributes(value: str) -> tuple[dict[str, str], FormErrors]:
    """Custom attributes typed as `key=value`, one per line."""
    found: dict[str, str] = {}
    errors = FormErrors()
    for number, line in enumerate(value.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, item = line.partition("=")
        if not sep or not key.strip():
            errors.add("attributes", f"line {number}: write key=value")
            continue
        found[key.strip()] = item.strip()
    return found, errors
