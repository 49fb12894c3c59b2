"""RFC 3464 reports: what is read from them, and what is not a report."""

from __future__ import annotations

from tracking_tests_fakes import dsn

from tracking.dsn import parse_dsn


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
