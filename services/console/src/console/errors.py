"""What an API refused, as the console shows it: a summary and messages by field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    field: str | None
    reason: str


class ApiError(Exception):
    """A 4xx or 5xx answer of the composer or recipients: {"detail", "errors": [...]}."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        raw = self.body.get("errors") or []
        self.problems = [
            Problem(e.get("field"), str(e.get("reason", ""))) for e in raw if isinstance(e, dict)
        ] or [Problem(None, str(self.body.get("detail") or f"HTTP {status}"))]
        super().__init__(f"{status}: {self.problems}")


class Unavailable(Exception):
    """A service did not answer (connection refused, timeout)."""


@dataclass
class FormErrors:
    """Errors of one form: by field for the messages beside the inputs, in order for the
    summary at the top (GOV.UK's error summary)."""

    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, error: ApiError, fields: dict[str, str] | None = None) -> FormErrors:
        """`fields` maps an API field name to the form's input (e.g. body -> html_body)."""
        fields = fields or {}
        return cls([Problem(fields.get(p.field or "", p.field), p.reason) for p in error.problems])

    def add(self, field_name: str | None, reason: str) -> None:
        self.problems.append(Problem(field_name, reason))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def get(self, field_name: str) -> list[str]:
        """Messages of a field and of its sub-fields (recipients.customer_ids)."""
        return [
            p.reason
            for p in self.problems
            if p.field == field_name or (p.field or "").startswith(field_name + ".")
        ]
