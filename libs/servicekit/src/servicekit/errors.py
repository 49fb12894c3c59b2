"""Refusals of the services' rules, shared so that every HTTP API answers them alike: each
kind has its status code, each names the fields it is about (see api_errors)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str | None
    reason: str
    allowed: list[str] | None = None


class DomainError(Exception):
    """A request the rules refuse; nothing was changed."""

    status = 400

    def __init__(self, errors: Iterable[FieldError], **extra: Any) -> None:
        self.errors = list(errors)
        self.extra = extra
        super().__init__(
            "; ".join(f"{e.field}: {e.reason}" if e.field else e.reason for e in self.errors)
        )


class Invalid(DomainError):
    """The input breaks a rule (422)."""

    status = 422

    @classmethod
    def one(cls, field_name: str | None, reason: str) -> Invalid:
        return cls([FieldError(field_name, reason)])


class Forbidden(DomainError):
    """The caller's role does not allow it (403)."""

    status = 403

    def __init__(self, field_name: str | None, reason: str) -> None:
        super().__init__([FieldError(field_name or "role", reason)])
        self.field = field_name
        self.reason = reason


class NotFound(DomainError):
    """Absent, or another tenant's: the two are indistinguishable on purpose (404)."""

    status = 404

    def __init__(self, what: str) -> None:
        super().__init__([FieldError("id", f"{what} not found")])
        self.what = what


class Conflict(DomainError):
    """The stored state does not allow it, e.g. an address already taken (409)."""

    status = 409

    def __init__(self, reason: str, *, field: str = "state", state: str | None = None) -> None:
        super().__init__([FieldError(field, reason)], **({"state": state} if state else {}))
        self.reason = reason
        self.state = state


class Unavailable(DomainError):
    """A service this request depends on did not answer usefully; retrying may help (503)."""

    status = 503

    def __init__(self, what: str) -> None:
        super().__init__([FieldError(None, f"{what} is unavailable, try again")])
