"""A digest as a MIME message: text and HTML alternatives, UTF-8, RFC 2047 headers.

Pure: no I/O besides reading the templates once. The labels are Japanese, as the product is.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape

from notifier.domain import NOTIFIED, DigestContent, DigestLine, HitKind
from notifier.periods import zone

LABELS = {HitKind.FIRST_OPEN: "初回開封", HitKind.REOPEN: "再開封", HitKind.CLICK: "クリック"}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["who"] = _who
    return env


def _who(line: DigestLine) -> str:
    if line.email:
        return f"{line.name} <{line.email}>" if line.name else line.email
    return f"顧客ID {line.customer_id}"


def _local(tz_name: str) -> Callable[[datetime], str]:
    tz = zone(tz_name)

    def fmt(at: datetime) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    return fmt


def subject_of(content: DigestContent) -> str:
    counts = "・".join(f"{LABELS[k]}{content.total(k)}件" for k in NOTIFIED if content.total(k))
    return f"【開封・クリック通知】{period_label(content)} {counts}"


def period_label(content: DigestContent) -> str:
    tz = zone(content.time_zone)
    start = content.period_start.astimezone(tz).strftime("%Y/%m/%d %H:%M")
    end = content.boundary.astimezone(tz).strftime("%Y/%m/%d %H:%M")
    return f"{start}〜{end}"


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """A digest ready for SMTP: envelope and the RFC 5322 bytes (CRLF, 7-bit)."""

    mail_from: str
    rcpt_to: str
    message_id: str
    data: bytes


def render_digest(
    content: DigestContent, *, sender: str, message_id: str, now: datetime
) -> RenderedDigest:
    if content.empty:
        raise ValueError("an empty digest is never sent")
    env = _environment()
    subject = subject_of(content)
    context = {
        "subject": subject,
        "recipient_name": content.recipient_name,
        "recipient_email": content.recipient_email,
        "period_label": period_label(content),
        "totals": {k.value: content.total(k) for k in NOTIFIED},
        "sections": content.sections,
        "kinds": NOTIFIED,
        "labels": LABELS,
        "time_zone": content.time_zone,
        "local": _local(content.time_zone),
    }
    sender_address, sender_header = _sender(sender)
    headers = [
        ("From", sender_header),
        ("To", formataddr((content.recipient_name, content.recipient_email), charset="utf-8")),
        ("Subject", Header(subject, "utf-8").encode(linesep="\r\n")),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
        # RFC 3834: tells auto-responders not to answer a machine-generated mail.
        ("Auto-Submitted", "auto-generated"),
        ("X-Bulkmail-Digest", str(content.digest_id)),
    ]
    parts = [
        ("text/plain", env.get_template("digest.txt.j2").render(context)),
        ("text/html", env.get_template("digest.html.j2").render(context)),
    ]
    data = _multipart_alternative(headers, parts, message_id)
    return RenderedDigest(sender_address, content.recipient_email, message_id, data)


def _multipart_alternative(
    headers: list[tuple[str, str]], parts: list[tuple[str, str]], message_id: str
) -> bytes:
    """Built by hand: the email package's header registry costs more than the rest of a
    digest together. Bodies are UTF-8 in base64, headers RFC 2047 words: 7-bit clean."""
    # "=_" never occurs in base64 text, so the boundary cannot collide with a body.
    boundary = "=_digest_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]
    lines = [f"{name}: {value}" for name, value in headers]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    ]
    for content_type, body in parts:
        lines += [
            f"--{boundary}",
            f'Content-Type: {content_type}; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            base64.encodebytes(body.encode()).decode("ascii").rstrip("\n").replace("\n", "\r\n"),
        ]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


@lru_cache(maxsize=8)
def _sender(sender: str) -> tuple[str, str]:
    """(address, From header) of the configured sender; parsed once."""
    name, address = parseaddr(sender)
    return address, formataddr((name, address), charset="utf-8")


@lru_cache(maxsize=8)
def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"
