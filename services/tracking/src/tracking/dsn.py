"""Delivery status notifications (RFC 3464) read with the standard library's email package.

A DSN is a `multipart/report; report-type=delivery-status` whose `message/delivery-status`
part holds one block of per-message fields, then one block per recipient (`Final-Recipient`,
`Action`, `Status`, optionally `Original-Recipient`, `Diagnostic-Code`). The email package
parses that part into a list of header blocks; this module turns them into plain records.

The email package parses nested parts recursively and builds every part it finds: 1,500
nested levels end in a RecursionError, and a megabyte of part headers in that many objects.
`check_structure` bounds that work before the package runs, on the raw bytes: a report
(DSN, or an ARF complaint) is a handful of parts around the returned message.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import Message

from tracking.domain import enhanced_status

_ADDRESS = re.compile(r"^[^@\s<>\r\n]+@[^@\s<>\r\n]+$")
_SMTP_CODE = re.compile(r"^\s*([245]\d\d)\b")

#: `multipart/*` and `message/*` parts, the ones the parser descends into: they bound the
#: nesting. A DSN holding our own multipart/alternative mail has four.
MAX_CONTAINERS = 16
#: Parts of any type (Content-Type fields); a report has fewer than ten.
MAX_PARTS = 100
# Every Content-Type field, folded or not, and the type it names. Lines in bodies that look
# like one count too: the bound errs on the side of less work.
_CONTENT_TYPE = re.compile(rb"^content-type[ \t]*:\s*([a-z]*)", re.IGNORECASE | re.MULTILINE)


class TooComplex(ValueError):
    """A mail whose MIME structure is beyond what a report needs; `reason` says which bound
    it passed (`too_deep`, `too_many_parts`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_structure(raw: bytes) -> None:
    """Raises TooComplex unless the email package may parse `raw` at a bounded cost."""
    containers = 0
    for parts, match in enumerate(_CONTENT_TYPE.finditer(raw), start=1):
        containers += match.group(1).lower() in (b"multipart", b"message")
        if containers > MAX_CONTAINERS:
            raise TooComplex("too_deep")
        if parts > MAX_PARTS:
            raise TooComplex("too_many_parts")


@dataclass(frozen=True, slots=True)
class DsnRecipient:
    email: str
    action: str
    status: str | None
    smtp_code: int | None
    diagnostic: str


def parse_dsn(raw: bytes) -> list[DsnRecipient] | None:
    """The recipients a DSN reports on, or None when `raw` is not a recognisable DSN.
    Raises TooComplex, before parsing, for a structure no report has (`check_structure`)."""
    check_structure(raw)
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return None
    report_type = message.get_param("report-type")
    if not isinstance(report_type, str) or report_type.lower() != "delivery-status":
        return None
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            if not isinstance(blocks, list) or len(blocks) < 2:
                return None
            recipients = [r for r in map(_recipient, blocks[1:]) if r is not None]
            return recipients or None
    return None


def _recipient(block: Message) -> DsnRecipient | None:
    address = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
    action = _one_line(block.get("Action"))
    if address is None or not action:
        return None
    diagnostic = _typed_value(block.get("Diagnostic-Code"))
    code = _SMTP_CODE.match(diagnostic)
    return DsnRecipient(
        email=address,
        action=action.lower(),
        status=enhanced_status(_one_line(block.get("Status"))),
        smtp_code=int(code.group(1)) if code else None,
        diagnostic=diagnostic[:2000],
    )


def _address(field: object) -> str | None:
    """`rfc822; user@example.com` (RFC 3464 address-type; address) -> the address."""
    value = _typed_value(field).strip("<> ")
    return value if value and len(value) <= 254 and _ADDRESS.match(value) else None


def _typed_value(field: object) -> str:
    text = _one_line(field)
    _, sep, value = text.partition(";")
    return (value if sep else text).strip()


def _one_line(field: object) -> str:
    return " ".join(str(field).split()) if field is not None else ""
