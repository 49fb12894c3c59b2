"""Reports about a sent message, read with the standard library's email package: delivery
status notifications (RFC 3464) and feedback-loop complaints (ARF, RFC 5965).

A DSN is a `multipart/report; report-type=delivery-status` whose `message/delivery-status`
part holds one block of per-message fields, then one block per recipient (`Final-Recipient`,
`Action`, `Status`, optionally `Original-Recipient`, `Diagnostic-Code`). The email package
parses that part into a list of header blocks; this module turns them into plain records.
An ARF complaint is a `multipart/report; report-type=feedback-report` whose
`message/feedback-report` part holds one block (`Feedback-Type`, `Original-Rcpt-To`, ...).

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


@dataclass(frozen=True, slots=True)
class Complaint:
    feedback_type: str
    original_rcpt_to: str | None  # often withheld by the mailbox provider


def parse_report(raw: bytes) -> list[DsnRecipient] | Complaint | None:
    """What a report says: a DSN's recipients, an ARF complaint, or None when `raw` is
    neither. Raises TooComplex, before parsing, for a structure no report has."""
    check_structure(raw)
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return None
    report_type = message.get_param("report-type")
    if not isinstance(report_type, str):
        return None
    if report_type.lower() == "delivery-status":
        return _dsn(message)
    if report_type.lower() == "feedback-report":
        return _complaint(message)
    return None


def parse_dsn(raw: bytes) -> list[DsnRecipient] | None:
    """The recipients a DSN reports on, or None when `raw` is not a recognisable DSN."""
    report = parse_report(raw)
    return report if isinstance(report, list) else None


def _dsn(message: Message) -> list[DsnRecipient] | None:
    blocks = _blocks(message, "message/delivery-status")
    if len(blocks) < 2:
        return None
    recipients = [r for r in map(_recipient, blocks[1:]) if r is not None]
    return recipients or None


def _complaint(message: Message) -> Complaint | None:
    blocks = _blocks(message, "message/feedback-report")
    if not blocks:
        return None
    fields = blocks[0]
    return Complaint(
        feedback_type=_one_line(fields.get("Feedback-Type")).lower()[:64] or "abuse",
        original_rcpt_to=_address(fields.get("Original-Rcpt-To")),
    )


def _blocks(message: Message, content_type: str) -> list[Message]:
    for part in message.walk():
        if part.get_content_type() == content_type:
            blocks = part.get_payload()
            return [b for b in blocks if isinstance(b, Message)] if isinstance(blocks, list) else []
    return []


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
