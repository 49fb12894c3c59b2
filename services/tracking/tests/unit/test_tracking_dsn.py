"""RFC 3464 reports: what is read from them, what is not a report, and what the parser is
never given."""

from __future__ import annotations

import pytest
from tracking_tests_fakes import dsn
from tracking_tests_support import nested_mime, wide_mime

from tracking.dsn import TooComplex, check_structure, parse_dsn


def test_hard_bounce_report():
    [r] = parse_dsn(dsn("Nobody@Example.org"))
    assert (r.email, r.action, r.status, r.smtp_code) == (
        "Nobody@Example.org",
        "failed",
        "5.1.1",
        550,
    )
    assert r.diagnostic.startswith("550 5.1.1 <Nobody@Example.org>")


def test_final_recipient_when_there_is_no_original_recipient():
    [r] = parse_dsn(dsn("Nobody@Example.org", original_recipient=False))
    assert r.email == "nobody@example.org"


def test_delay_report_without_smtp_diagnostic():
    [r] = parse_dsn(
        dsn("slow@example.org", action="delayed", status="4.4.1", diagnostic="X-Postfix; timeout")
    )
    assert (r.action, r.status, r.smtp_code, r.diagnostic) == ("delayed", "4.4.1", None, "timeout")


def test_folded_diagnostic_is_one_line():
    raw = dsn("a@example.org").replace(
        b"User unknown", b"User\r\n    unknown in virtual mailbox table"
    )
    [r] = parse_dsn(raw)
    assert r.diagnostic.endswith("User unknown in virtual mailbox table")


def test_several_recipients():
    raw = dsn("a@example.org").replace(
        b"\r\n--B0UNDARY\r\nContent-Description: Undelivered",
        b"\r\nFinal-Recipient: rfc822; b@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        b"\r\n--B0UNDARY\r\nContent-Description: Undelivered",
    )
    assert [r.email for r in parse_dsn(raw)] == ["a@example.org", "b@example.org"]


def test_plain_mail_is_not_a_report():
    assert parse_dsn(b"From: x@example.org\r\nSubject: out of office\r\n\r\nI am away.\r\n") is None


def test_other_report_types_are_not_delivery_reports():
    raw = dsn("a@example.org").replace(
        b"report-type=delivery-status", b"report-type=disposition-notification"
    )
    assert parse_dsn(raw) is None


def test_report_without_recipient_blocks_is_not_recognisable():
    raw = dsn("a@example.org").replace(b"Final-Recipient: rfc822; a@example.org\r\n", b"")
    raw = raw.replace(b"Original-Recipient: rfc822;a@example.org\r\n", b"")
    assert parse_dsn(raw) is None


def test_garbage_is_not_a_report():
    assert parse_dsn(b"\x00\xff" * 1000) is None


@pytest.mark.parametrize("kind", ["multipart", "message"])
def test_deep_nesting_is_refused_before_the_parser_recurses(kind):
    with pytest.raises(TooComplex) as refused:
        parse_dsn(nested_mime(1500, kind))
    assert refused.value.reason == "too_deep"


def test_thousands_of_parts_are_refused_before_parsing():
    with pytest.raises(TooComplex) as refused:
        check_structure(wide_mime(5000))
    assert refused.value.reason == "too_many_parts"


def test_a_report_returning_a_whole_multipart_mail_is_within_the_bounds():
    returned = (
        b"Content-Type: message/rfc822\r\n\r\n"
        b'Subject: Spring sale\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        b"--alt\r\nContent-Type: text/plain\r\n\r\nsale\r\n"
        b"--alt\r\nContent-Type: text/html\r\n\r\n<p>sale</p>\r\n--alt--\r\n"
    )
    raw = dsn("a@example.org").replace(
        b"Content-Type: text/rfc822-headers\r\n\r\nSubject: Spring sale\r\n"
        b"Message-ID: <abc@example.com>\r\n",
        returned,
    )
    assert b"multipart/alternative" in raw
    check_structure(raw)
    assert [r.email for r in parse_dsn(raw) or []] == ["a@example.org"]
