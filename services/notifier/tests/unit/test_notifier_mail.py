"""The digest as a MIME message: Japanese-ready, UTF-8, RFC 2047 subject, never empty."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import Timing
from notifier.domain import (
    CampaignSection,
    DigestContent,
    DigestLine,
    HitKind,
    digest_message_id,
)
from notifier.mail import render_digest

BOUNDARY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 2026-11-27 00:00 in Tokyo
TENANT, USER = uuid.uuid4(), uuid.uuid4()


def content(first_opens: int = 3, listed: int = 2, clicks: int = 1) -> DigestContent:
    section = CampaignSection(uuid.uuid4(), "冬のセール", "【冬のセール】ご案内")
    when = BOUNDARY - timedelta(hours=5)
    if first_opens:
        section.counts[HitKind.FIRST_OPEN] = first_opens
        section.lines[HitKind.FIRST_OPEN] = [
            DigestLine(HitKind.FIRST_OPEN, when, uuid.uuid4(), f"c{i}@example.jp", "山田 太郎")
            for i in range(listed)
        ]
    if clicks:
        section.counts[HitKind.CLICK] = clicks
        section.lines[HitKind.CLICK] = [
            DigestLine(
                HitKind.CLICK, when, uuid.uuid4(), None, None, "https://shop.example/?a=1&b=<2>"
            )
        ]
    return DigestContent(
        digest_id=7,
        tenant_id=TENANT,
        user_id=USER,
        recipient_name="佐藤 花子",
        recipient_email="hanako@staff.example",
        boundary=BOUNDARY,
        period_start=BOUNDARY - timedelta(days=1),
        time_zone="Asia/Tokyo",
        timings=frozenset({Timing.DAILY}),
        sections=(section,),
    )


def render(c: DigestContent) -> email.message.EmailMessage:
    message_id = digest_message_id(c.tenant_id, c.user_id, c.boundary, "bulkmail.localhost")
    rendered = render_digest(
        c,
        sender="Bulk Mail <notifications@bulkmail.localhost>",
        message_id=message_id,
        now=BOUNDARY,
    )
    assert (rendered.mail_from, rendered.rcpt_to) == (
        "notifications@bulkmail.localhost",
        "hanako@staff.example",
    )
    wire = rendered.data
    assert wire.isascii(), "headers and bodies are encoded for any 7-bit MTA"
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    assert b"\n" not in wire.replace(b"\r\n", b""), "every line ends with CRLF"
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_subject_is_japanese_and_rfc2047_encoded() -> None:
    message = render(content())
    raw_subject = message.get("Subject").__str__()
    assert "開封・クリック通知" in raw_subject
    assert "2026/11/26 00:00〜2026/11/27 00:00" in raw_subject
    assert "初回開封3件" in raw_subject and "クリック1件" in raw_subject
    wire = render_digest(
        content(), sender="a@b.example", message_id="<x@b.example>", now=BOUNDARY
    ).data
    assert b"Subject: =?utf-8?" in wire


def test_text_and_html_alternatives_list_who_and_when() -> None:
    message = render(content())
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    plain, markup = text.get_content(), html.get_content()
    for body in (plain, markup):
        assert "佐藤 花子 様" in body
        assert "【冬のセール】ご案内" in body
        assert "初回開封: 3 件" in body
        assert "2026-11-26 19:00" in body  # local time of the opens
        assert "c0@example.jp" in body
        assert "ほか 1 件" in body  # three first opens, two listed
    assert "https://shop.example/?a=1&b=<2>" in plain
    assert "https://shop.example/?a=1&amp;b=&lt;2&gt;" in markup


def test_headers_identify_a_machine_generated_digest() -> None:
    message = render(content())
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["To"].addresses[0].addr_spec == "hanako@staff.example"
    assert message["From"].addresses[0].addr_spec == "notifications@bulkmail.localhost"


def test_message_id_is_the_same_for_the_same_user_and_boundary() -> None:
    one = digest_message_id(TENANT, USER, BOUNDARY, "bulkmail.localhost")
    assert one == digest_message_id(TENANT, USER, BOUNDARY, "bulkmail.localhost")
    assert one != digest_message_id(TENANT, USER, BOUNDARY + timedelta(hours=1), "x")
    assert render(content())["Message-ID"] == one


def test_an_empty_digest_is_never_rendered() -> None:
    with pytest.raises(ValueError, match="empty"):
        render(content(first_opens=0, clicks=0))
