"""What a hit or an inbound mail means, as plain functions over tokens and ports.

The hit functions are synchronous and pure (verify, classify, build the event): they run on
the hot path of every pixel and click, and the HTTP layer publishes what they return and
answers once Kafka acknowledged it. A token that does not verify yields no event.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from contracts import Clicked, Opened, ReportedRecipient, ReportReceived, Unsubscribed
from servicekit.tokens import BounceClaims, Claims, InvalidToken, Kind, TokenCodec
from tracking.domain import (
    MachineRules,
    click_machine_reason,
    open_machine_reason,
    redirect_target,
    reports_a_problem,
)
from tracking.dsn import Complaint, DsnRecipient, TooComplex, parse_report
from tracking.ports import MailStore, Publisher

log = logging.getLogger(__name__)

_MAX_USER_AGENT = 512
_REPORT_EVENT_NAMESPACE = uuid.UUID("6f1d3c2e-93a7-4c55-9a5e-1c1a4a0e8b21")
#: A DSN about one message names one recipient; a few more are kept for the record, the
#: rest (a forged report listing thousands) never leaves this service.
MAX_REPORTED_RECIPIENTS = 10


def open_hit(token: str, user_agent: str, *, tokens: TokenCodec, now: float) -> Opened | None:
    try:
        claims = tokens.verify(token, Kind.OPEN)
    except InvalidToken:
        return None
    reason = open_machine_reason(user_agent)
    return Opened.model_validate(_hit_fields(claims, user_agent, now, reason))


@dataclass(frozen=True, slots=True)
class Click:
    event: Clicked
    location: str


def click_hit(
    token: str, user_agent: str, *, tokens: TokenCodec, now: float, rules: MachineRules
) -> Click | None:
    """The event and the redirect, or None for a bad token or a destination that is not web."""
    try:
        claims = tokens.verify(token, Kind.CLICK)
    except InvalidToken:
        return None
    assert claims.url is not None  # a verified click token always carries its URL
    location = redirect_target(claims.url)
    if location is None:
        return None
    reason = click_machine_reason(user_agent, sent_at=claims.issued_at, now=now, rules=rules)
    fields = _hit_fields(claims, user_agent, now, reason)
    event = Clicked.model_validate({**fields, "url": claims.url})
    return Click(event, location)


def _hit_fields(
    claims: Claims, user_agent: str, now: float, machine_reason: str | None
) -> dict[str, object]:
    """What an open or a click event takes from its verified token and its request."""
    return {
        "tenant_id": claims.tenant_id,
        "campaign_id": claims.campaign_id,
        "message_id": claims.message_id,
        "customer_id": claims.customer_id,
        "notify_user_id": claims.notify_user_id,
        "user_agent": user_agent[:_MAX_USER_AGENT],
        "machine": machine_reason is not None,
        "machine_reason": machine_reason,
        "occurred_at": datetime.fromtimestamp(now, UTC),
    }


def unsubscribe_claims(token: str, *, tokens: TokenCodec) -> Claims | None:
    try:
        return tokens.verify(token, Kind.UNSUBSCRIBE)
    except InvalidToken:
        return None


async def unsubscribe(
    token: str,
    method: Literal["one_click", "form"],
    *,
    tokens: TokenCodec,
    publisher: Publisher,
) -> Unsubscribed | None:
    """Publish the unsubscription (recipients applies it); None for a bad token."""
    claims = unsubscribe_claims(token, tokens=tokens)
    if claims is None:
        return None
    event = Unsubscribed(
        tenant_id=claims.tenant_id,
        customer_id=claims.customer_id,
        campaign_id=claims.campaign_id,
        message_id=claims.message_id,
        method=method,
    )
    await publisher.publish([event])
    return event


def return_path_claims(rcpt: str, *, tokens: TokenCodec) -> BounceClaims | None:
    """Tenant and message of a VERP return path (`<bounce token>@<any domain>`), or None."""
    try:
        return tokens.verify_bounce(rcpt.rpartition("@")[0])
    except InvalidToken:
        return None


async def intake_mail(
    raw: bytes,
    *,
    mail_from: str,
    rcpt_tos: list[str],
    tokens: TokenCodec,
    publisher: Publisher,
    store: MailStore,
) -> list[ReportReceived]:
    """A mail to a return path: the report it is, published for delivery to judge; any other
    mail is kept for a person.

    The return path's token names the message; what the report says about addresses is only
    a claim (anyone can write a DSN), so nothing here registers a bounce or a complaint:
    delivery believes a report only about the address it sent that message to.
    Raises TooComplex (nothing kept) for a MIME structure no report has. A mail to no valid
    return path is neither published nor kept: the SMTP intake refuses such recipients.
    """
    claims = next(
        (c for r in rcpt_tos if (c := return_path_claims(r, tokens=tokens)) is not None), None
    )
    if claims is None:
        return []
    try:
        report = parse_report(raw)
    except TooComplex:
        raise
    except Exception:
        # Hostile bytes the email package trips over are kept for a person, like any mail
        # that is no report: an error here would make the sending MTA retry it for days.
        log.warning("unreadable mail to return path %s kept", rcpt_tos[0], exc_info=True)
        report, reason = None, "unreadable"
    else:
        reason = "not_a_report" if report is None else "no_failure"
    event = _report_received(claims, report, raw) if report is not None else None
    if event is None:
        await store.keep(raw, mail_from=mail_from, rcpt_tos=rcpt_tos, reason=reason)
        return []
    await publisher.publish([event])
    return [event]


def _report_received(
    claims: BounceClaims, report: list[DsnRecipient] | Complaint, raw: bytes
) -> ReportReceived | None:
    # The same report delivered twice (our 250 got lost, the MTA retried) gets the same
    # event id, so that consumers drop the second copy.
    event_id = uuid.uuid5(_REPORT_EVENT_NAMESPACE, hashlib.sha256(raw).hexdigest())
    if isinstance(report, Complaint):
        return ReportReceived(
            event_id=event_id,
            tenant_id=claims.tenant_id,
            message_id=claims.message_id,
            kind="arf",
            complained_by=report.original_rcpt_to,
            feedback_type=report.feedback_type,
        )
    problems = [r for r in report if reports_a_problem(r.action)][:MAX_REPORTED_RECIPIENTS]
    if not problems:
        return None
    return ReportReceived(
        event_id=event_id,
        tenant_id=claims.tenant_id,
        message_id=claims.message_id,
        kind="dsn",
        recipients=[ReportedRecipient.model_validate(r, from_attributes=True) for r in problems],
    )


async def purge_inbound_mail(store: MailStore, *, retention_days: int, batch: int) -> bool:
    """Deletes one batch of kept mail older than the retention; True while more may be left."""
    return await store.purge(older_than_days=retention_days, limit=batch) >= batch
