"""What a hit or an inbound mail means, as plain functions over tokens and ports.

The hit functions are synchronous and pure (verify, classify, build the event): they run on
the hot path of every pixel and click, and the HTTP layer publishes what they return and
answers once Kafka acknowledged it. A token that does not verify yields no event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from contracts import Bounced, Clicked, Opened, Unsubscribed
from servicekit.tokens import Claims, InvalidToken, Kind, TokenCodec
from tracking.domain import (
    MachineRules,
    bounce_kind,
    click_machine_reason,
    open_machine_reason,
    redirect_target,
    reports_a_problem,
)
from tracking.dsn import parse_dsn
from tracking.ports import MailStore, Publisher

_MAX_USER_AGENT = 512
#: Bounced events from a DSN get an id derived from what they report, so that a DSN that is
#: delivered twice (our 250 got lost, the MTA retried) is dropped by consumers as a duplicate.
_DSN_EVENT_NAMESPACE = uuid.UUID("6f1d3c2e-93a7-4c55-9a5e-1c1a4a0e8b21")


def open_hit(token: str, user_agent: str, *, tokens: TokenCodec, now: float) -> Opened | None:
    try:
        claims = tokens.verify(token, Kind.OPEN)
    except InvalidToken:
        return None
    reason = open_machine_reason(user_agent)
    return Opened(
        tenant_id=claims.tenant_id,
        campaign_id=claims.campaign_id,
        message_id=claims.message_id,
        customer_id=claims.customer_id,
        notify_user_id=claims.notify_user_id,
        user_agent=user_agent[:_MAX_USER_AGENT],
        machine=reason is not None,
        machine_reason=reason,
        occurred_at=datetime.fromtimestamp(now, UTC),
    )


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
    event = Clicked(
        tenant_id=claims.tenant_id,
        campaign_id=claims.campaign_id,
        message_id=claims.message_id,
        customer_id=claims.customer_id,
        notify_user_id=claims.notify_user_id,
        user_agent=user_agent[:_MAX_USER_AGENT],
        machine=reason is not None,
        machine_reason=reason,
        url=claims.url,
        occurred_at=datetime.fromtimestamp(now, UTC),
    )
    return Click(event, location)


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


async def intake_mail(
    raw: bytes,
    *,
    mail_from: str,
    rcpt_tos: list[str],
    tokens: TokenCodec,
    publisher: Publisher,
    store: MailStore,
) -> list[Bounced]:
    """A mail to a return path: the bounces it reports, published; anything else is kept."""
    claims = None
    for rcpt in rcpt_tos:
        try:
            claims = tokens.verify_bounce(rcpt.rpartition("@")[0])
            break
        except InvalidToken:
            continue
    reason = "bad_token"
    events: list[Bounced] = []
    if claims is not None:
        report = parse_dsn(raw)
        reason = "not_dsn" if report is None else "no_failure"
        for r in report or []:
            if not reports_a_problem(r.action):
                continue
            key = f"dsn:{claims.message_id}:{r.email.lower()}:{r.action}:{r.status}"
            events.append(
                Bounced(
                    event_id=uuid.uuid5(_DSN_EVENT_NAMESPACE, key),
                    tenant_id=claims.tenant_id,
                    message_id=claims.message_id,
                    email=r.email,
                    kind=bounce_kind(r.action, r.status),
                    smtp_code=r.smtp_code,
                    enhanced_status=r.status,
                    diagnostic=r.diagnostic,
                    source="dsn",
                )
            )
    if events:
        await publisher.publish(events)
    else:
        await store.keep(raw, mail_from=mail_from, rcpt_tos=rcpt_tos, reason=reason)
    return events
