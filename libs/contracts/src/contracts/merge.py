"""Merge fields (差し込み項目): the placeholders a subject or body may contain.

Syntax: `{{ name }}` (spaces optional). The composer rejects any other name at compose
time; recipients fills the values per recipient; delivery renders them.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")

#: Field name -> what it holds.
FIELDS: dict[str, str] = {
    "last_name": "Customer's family name (姓)",
    "first_name": "Customer's given name (名)",
    "full_name": "Family name and given name, separated by a space",
    "company": "Customer's company (会社名)",
    "email": "Customer's email address",
    "sender_name": "Name of the sender of this mail (the owner when sent as owner)",
    "sender_email": "Address of the sender of this mail",
    "sender_signature": "Signature of the sender (送信者署名)",
}

#: Custom customer attributes are addressed as `attr.<key>`.
ATTRIBUTE_PREFIX = "attr."
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

SIGNATURE = "sender_signature"


def used_fields(*texts: str | None) -> list[str]:
    """Distinct placeholder names in order of first use."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            seen.setdefault(match.group(1), None)
    return list(seen)


def is_known(name: str) -> bool:
    if name in FIELDS:
        return True
    key = name.removeprefix(ATTRIBUTE_PREFIX)
    return name.startswith(ATTRIBUTE_PREFIX) and bool(_ATTRIBUTE_KEY.match(key))


def unknown_fields(*texts: str | None) -> list[str]:
    return [name for name in used_fields(*texts) if not is_known(name)]


def allowed_description() -> list[str]:
    """What to show a user whose template names an unknown field."""
    return [*FIELDS, ATTRIBUTE_PREFIX + "<attribute key>"]
