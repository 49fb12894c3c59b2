"""Hits and inbound mail as events, against the fakes."""

from __future__ import annotations

import uuid

import pytest
from tracking_tests_fakes import NOW, TOKENS, FakeMailStore, FakePublisher, dsn, ids, sign

from contracts import BounceKind, Clicked, Opened, Unsubscribed
from servicekit.tokens import Kind
from tracking.domain import MachineRules
from tracking.dsn import TooComplex
from tracking.handlers import click_hit, intake_mail, open_hit, purge_inbound_mail, unsubscribe

RULES = MachineRules(click_machine_seconds=10)


def test_open_carries_everything_the_token_says():
    event = open_hit(sign(Kind.OPEN), "Mozilla/5.0 (X11)", tokens=TOKENS, now=NOW)
    tenant, campaign, message, customer, notify = ids()
    assert isinstance(event, Opened)
    assert (event.tenant_id, event.campaign_id, event.message_id) == (tenant, campaign, message)
    assert (event.customer_id, event.notify_user_id) == (customer, notify)
    assert (event.user_agent, event.machine, event.machine_reason) == (
        "Mozilla/5.0 (X11)",
        False,
        None,
    )
    assert event.occurred_at.timestamp() == NOW
    assert event.partition_key() == message.bytes


def test_open_by_an_image_proxy_is_flagged():
    event = open_hit(sign(Kind.OPEN), "Mozilla/5.0", tokens=TOKENS, now=NOW)
    assert event is not None and event.machine and event.machine_reason == "image_proxy:apple"


def test_tokens_of_other_kinds_make_no_event():
    assert open_hit(sign(Kind.UNSUBSCRIBE), "x", tokens=TOKENS, now=NOW) is None
    assert click_hit(sign(Kind.OPEN), "x", tokens=TOKENS, now=NOW, rules=RULES) is None


def test_long_user_agents_are_cut():
    event = open_hit(sign(Kind.OPEN), "x" * 5000, tokens=TOKENS, now=NOW)
    assert event is not None and len(event.user_agent) == 512


def test_click_goes_to_the_signed_url():
    click = click_hit(
        sign(Kind.CLICK, url="https://shop.example/sale?id=1"),
        "Firefox",
        tokens=TOKENS,
        now=NOW,
        rules=RULES,
    )
    assert click is not None and isinstance(click.event, Clicked)
    assert click.location == click.event.url == "https://shop.example/sale?id=1"
    assert not click.event.machine


def test_click_right_after_sending_is_flagged():
    token = sign(Kind.CLICK, url="https://shop.example/", sent=NOW - 2)
    click = click_hit(token, "Firefox", tokens=TOKENS, now=NOW, rules=RULES)
    assert click is not None and click.event.machine_reason == "fast_click"


def test_signed_javascript_link_is_refused():
    token = sign(Kind.CLICK, url="javascript:alert(document.cookie)")
    assert click_hit(token, "Firefox", tokens=TOKENS, now=NOW, rules=RULES) is None


async def test_unsubscribe_publishes_and_waits():
    publisher = FakePublisher()
    event = await unsubscribe(
        sign(Kind.UNSUBSCRIBE), "one_click", tokens=TOKENS, publisher=publisher
    )
    assert isinstance(event, Unsubscribed) and publisher.events == [event]
    assert (event.customer_id, event.message_id, event.method) == (ids()[3], ids()[2], "one_click")


async def test_unsubscribe_with_a_bad_token_publishes_nothing():
    publisher = FakePublisher()
    assert await unsubscribe("nope", "form", tokens=TOKENS, publisher=publisher) is None
    assert publisher.events == []


def _return_path(seed: int = 1) -> str:
    tenant, _, message, _, _ = ids(seed)
    return f"{TOKENS.sign_bounce(tenant, message)}@bounces.example.com"


async def _intake(raw: bytes, rcpt: str):
    publisher, store = FakePublisher(), FakeMailStore()
    events = await intake_mail(
        raw, mail_from="", rcpt_tos=[rcpt], tokens=TOKENS, publisher=publisher, store=store
    )
    assert publisher.events == events
    return events, store.kept


async def test_permanent_failure_is_a_hard_bounce_of_the_message():
    [event], kept = await _intake(dsn("gone@example.org"), _return_path())
    tenant, _, message, _, _ = ids()
    assert (event.tenant_id, event.message_id, event.email) == (tenant, message, "gone@example.org")
    assert (event.kind, event.enhanced_status, event.smtp_code, event.source) == (
        BounceKind.HARD,
        "5.1.1",
        550,
        "dsn",
    )
    assert event.campaign_id is None and event.customer_id is None
    assert "User unknown" in event.diagnostic and kept == []


async def test_temporary_failure_is_a_soft_bounce():
    [event], _ = await _intake(
        dsn("full@example.org", status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full"),
        _return_path(),
    )
    assert (event.kind, event.enhanced_status, event.smtp_code) == (BounceKind.SOFT, "4.2.2", 452)


async def test_the_same_report_twice_is_the_same_event():
    first, _ = await _intake(dsn("gone@example.org"), _return_path())
    again, _ = await _intake(dsn("gone@example.org"), _return_path())
    assert first[0].event_id == again[0].event_id


async def test_uppercased_return_path_still_verifies():
    events, _ = await _intake(dsn("gone@example.org"), _return_path().upper())
    assert len(events) == 1


async def test_mail_that_is_not_a_report_is_kept():
    raw = b"Subject: Auto-reply\r\n\r\nI am on holiday.\r\n"
    events, kept = await _intake(raw, _return_path())
    assert events == [] and kept == [(raw, "", [_return_path()], "not_dsn")]


async def test_report_with_a_forged_return_path_is_neither_published_nor_kept():
    forged = _return_path()[:10] + ("a" if _return_path()[10] != "a" else "b") + _return_path()[11:]
    events, kept = await _intake(dsn("gone@example.org"), forged)
    assert events == [] and kept == []


async def test_mail_the_email_package_trips_over_is_kept_as_unreadable(monkeypatch):
    def trips(raw: bytes) -> None:
        raise LookupError("unknown encoding: x-hostile")

    monkeypatch.setattr("tracking.handlers.parse_dsn", trips)
    events, kept = await _intake(dsn("gone@example.org"), _return_path())
    assert events == [] and kept[0][3] == "unreadable"


async def test_a_structure_no_report_has_is_refused_and_not_kept():
    nested = b"".join(b"Content-Type: message/rfc822\r\n\r\n" for _ in range(1500))
    publisher, store = FakePublisher(), FakeMailStore()
    with pytest.raises(TooComplex):
        await intake_mail(
            nested,
            mail_from="",
            rcpt_tos=[_return_path()],
            tokens=TOKENS,
            publisher=publisher,
            store=store,
        )
    assert publisher.events == [] and store.kept == []


async def test_kept_mail_is_purged_after_the_retention_in_batches():
    store = FakeMailStore()
    for n in range(5):
        await store.keep(b"mail %d" % n, mail_from="", rcpt_tos=[], reason="not_dsn")
    store.ages = [30, 1, 15, 20, 14]
    assert await purge_inbound_mail(store, retention_days=14, batch=2) is True
    assert await purge_inbound_mail(store, retention_days=14, batch=2) is False
    assert [raw for raw, *_ in store.kept] == [b"mail 1", b"mail 4"]


async def test_successful_delivery_report_is_kept():
    events, kept = await _intake(
        dsn("ok@example.org", action="delivered", status="2.0.0"), _return_path()
    )
    assert events == [] and kept[0][3] == "no_failure"


async def test_return_path_for_another_tenant_names_that_tenant():
    [event], _ = await _intake(dsn("gone@example.org"), _return_path(seed=7))
    assert event.tenant_id == ids(7)[0] and event.tenant_id != uuid.UUID(int=1000)
