"""Inbound reports against the ledger: only the address a message went to counts; each
report changes an outcome once; operators resolve unknown messages."""

from __future__ import annotations

import uuid
from typing import Any

import delivery_tests_fakes as fakes

import testkit.events as support
from contracts import (
    Bounced,
    Complained,
    MessageBlocked,
    ReportedRecipient,
    ReportReceived,
    UnknownResolution,
    encode,
)
from delivery import handlers, reports
from delivery.domain import State, event_id
from delivery.ports import Claim, Finished, FinishedBatch


async def ledger_with(state: State, email: str = "kim@x.example") -> tuple[fakes.FakeLedger, Any]:
    ledger = fakes.FakeLedger()
    c = support.campaign()
    r = support.recipient(c, email)
    await ledger.claim([Claim(r, State.SENDING, encode(r))], "me")
    finished = Finished(r.message_id, state, 250, "2.0.0 ok", event=encode(r))
    await ledger.finish(FinishedBatch([finished], "me"))
    return ledger, r


def dsn(r: Any, *blocks: ReportedRecipient) -> ReportReceived:
    return ReportReceived(
        tenant_id=r.tenant_id, message_id=r.message_id, kind="dsn", recipients=list(blocks)
    )


def failed(email: str, status: str = "5.1.1", text: str = "user unknown") -> ReportedRecipient:
    return ReportedRecipient(email=email, action="failed", status=status, diagnostic=text)


async def test_a_dsn_for_the_address_the_message_went_to_bounces_it_once() -> None:
    ledger, r = await ledger_with(State.SENT)
    suppressions = fakes.FakeSuppressions()
    report = dsn(r, failed(r.email.upper()))
    outcome = await reports.report_received(report, reports=ledger, suppressions=suppressions)
    assert outcome == "bounced"
    assert ledger.rows[r.message_id].state is State.BOUNCED
    (bounce,) = ledger.outbox
    assert isinstance(bounce, Bounced)
    assert (bounce.source, bounce.kind, bounce.customer_id, bounce.campaign_id) == (
        "dsn",
        "hard",
        r.customer_id,
        r.campaign_id,
    )
    assert bounce.enhanced_status == "5.1.1"
    again = await reports.report_received(report, reports=ledger, suppressions=suppressions)
    assert again == "already_settled" and len(ledger.outbox) == 1, "counted exactly once"
    # Delivery's own Bounced comes back on message.bounced: it suppresses, never counts.
    await handlers.bounced(bounce, suppressions=suppressions)
    assert (r.tenant_id, r.email.lower()) in suppressions.addresses
    assert ledger.rows[r.message_id].state is State.BOUNCED


async def test_a_dsn_naming_other_addresses_changes_nothing() -> None:
    ledger, r = await ledger_with(State.SENT)
    suppressions = fakes.FakeSuppressions()
    report = dsn(r, failed("ceo@x.example"), failed("cfo@x.example"))
    outcome = await reports.report_received(report, reports=ledger, suppressions=suppressions)
    assert outcome == "other_address"
    assert ledger.rows[r.message_id].state is State.SENT
    assert ledger.outbox == [] and suppressions.addresses == {}


async def test_a_forged_dsn_bounce_from_elsewhere_registers_nobody() -> None:
    suppressions = fakes.FakeSuppressions()
    forged = Bounced(
        tenant_id=uuid.uuid4(), message_id=uuid.uuid4(), email="ceo@x.example", kind="hard",
        source="dsn",
    )  # fmt: skip
    await handlers.bounced(forged, suppressions=suppressions)
    assert suppressions.addresses == {}
    ours = forged.model_copy(update={"event_id": event_id(forged.message_id, "Bounced")})
    await handlers.bounced(ours, suppressions=suppressions)
    assert suppressions.addresses


async def test_a_dsn_of_a_policy_refusal_is_blocked_and_a_delay_is_nothing() -> None:
    ledger, r = await ledger_with(State.SENT)
    delayed = ReportedRecipient(email=r.email, action="delayed", status="4.4.7")
    suppressions = fakes.FakeSuppressions()
    assert (
        await reports.report_received(dsn(r, delayed), reports=ledger, suppressions=suppressions)
        == "not_failed"
    )
    refused = failed(r.email, "5.7.1", "rejected by policy")
    assert (
        await reports.report_received(dsn(r, refused), reports=ledger, suppressions=suppressions)
        == "blocked"
    )
    (blocked,) = ledger.outbox
    assert isinstance(blocked, MessageBlocked) and blocked.customer_id == r.customer_id


async def test_a_dsn_about_an_unknown_message_or_another_tenant_is_ignored() -> None:
    ledger, r = await ledger_with(State.SENT)
    suppressions = fakes.FakeSuppressions()
    elsewhere = dsn(r, failed(r.email)).model_copy(update={"tenant_id": uuid.uuid4()})
    assert (
        await reports.report_received(elsewhere, reports=ledger, suppressions=suppressions)
        == "unknown_message"
    )
    nowhere = dsn(r, failed(r.email)).model_copy(update={"message_id": uuid.uuid4()})
    assert (
        await reports.report_received(nowhere, reports=ledger, suppressions=suppressions)
        == "unknown_message"
    )
    assert ledger.rows[r.message_id].state is State.SENT


async def test_a_complaint_makes_the_message_complained_and_suppresses_the_customer() -> None:
    ledger, r = await ledger_with(State.SENT)
    suppressions = fakes.FakeSuppressions()
    arf = ReportReceived(
        tenant_id=r.tenant_id, message_id=r.message_id, kind="arf", complained_by=r.email,
        feedback_type="abuse",
    )  # fmt: skip
    assert (
        await reports.report_received(arf, reports=ledger, suppressions=suppressions)
        == "complained"
    )
    (complaint,) = ledger.outbox
    assert isinstance(complaint, Complained)
    assert (complaint.customer_id, complaint.email) == (r.customer_id, r.email)
    assert (r.tenant_id, r.customer_id) in suppressions.customers
    assert ledger.rows[r.message_id].state is State.COMPLAINED


async def test_a_complaint_naming_someone_else_is_ignored() -> None:
    ledger, r = await ledger_with(State.SENT)
    arf = ReportReceived(
        tenant_id=r.tenant_id, message_id=r.message_id, kind="arf", complained_by="x@y.example"
    )
    outcome = await reports.report_received(
        arf, reports=ledger, suppressions=fakes.FakeSuppressions()
    )
    assert outcome == "other_address" and ledger.rows[r.message_id].state is State.SENT


async def test_resend_and_give_up_resolve_unknown_messages_once() -> None:
    ledger, r = await ledger_with(State.UNKNOWN)
    resend = UnknownResolution(
        tenant_id=r.tenant_id, campaign_id=r.campaign_id, action="resend",
        requested_by_user_id=uuid.uuid4(),
    )  # fmt: skip
    await reports.unknown_resolved(resend, reports=ledger)
    assert ledger.rows[r.message_id].state is State.RETRY, "due to be sent again"
    ledger.rows[r.message_id].state = State.UNKNOWN
    await reports.unknown_resolved(resend, reports=ledger)
    assert ledger.rows[r.message_id].state is State.UNKNOWN, "a replayed resolution acts once"
    give_up = resend.model_copy(update={"action": "give_up", "event_id": uuid.uuid4()})
    await reports.unknown_resolved(give_up, reports=ledger)
    assert ledger.rows[r.message_id].state is State.FAILED
