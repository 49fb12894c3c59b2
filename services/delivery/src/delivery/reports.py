"""Reports about messages delivery sent, and operators' decisions about unknown ones.

A report (ReportReceived: a DSN or a feedback-loop complaint that arrived at a message's
VERP return path) names addresses; anyone can write one, so an address counts only when
it is the address the ledger says that message went to. Anything else is ignored and
counted: a DSN naming other addresses must not let its sender register them as bounced.
A report changes a message's outcome once (sent or unknown -> bounced, blocked, soft
bounced or complained), with its event in the same transaction.
"""

from __future__ import annotations

import logging

from contracts import (
    Bounced,
    BounceKind,
    Complained,
    Event,
    MessageBlocked,
    ReportedRecipient,
    ReportReceived,
    UnknownResolution,
)
from delivery.bounces import Reply, Stage, Verdict, classify
from delivery.domain import State, event_id
from delivery.metrics import REPORT_BLOCKS_IGNORED, REPORTS
from delivery.ports import Delivered, Reports, Settlement, Suppressions

log = logging.getLogger(__name__)

#: A report may only change the outcome of a message the server had taken (or may have).
REPORTABLE = (State.SENT, State.UNKNOWN)


async def report_received(
    event: ReportReceived, *, reports: Reports, suppressions: Suppressions
) -> str:
    """Applies a report; returns what became of it (also counted in the metric)."""
    known = await reports.delivered(event.message_id)
    if known is None or known.tenant_id != event.tenant_id:
        outcome = "unknown_message"
    elif known.email is None:
        outcome = "unverifiable"  # claimed before the ledger kept addresses
    elif event.kind == "arf":
        outcome = await _complaint(event, known, reports, suppressions)
    else:
        outcome = await _dsn(event, known, reports)
    REPORTS.labels(event.kind, outcome).inc()
    return outcome


async def _dsn(event: ReportReceived, known: Delivered, reports: Reports) -> str:
    ours = [b for b in event.recipients if _same(b.email, known.email)]
    if len(ours) < len(event.recipients):
        REPORT_BLOCKS_IGNORED.inc(len(event.recipients) - len(ours))
    failed = [b for b in ours if b.action.strip().lower() == "failed"]
    if not failed:
        return "not_failed" if ours else "other_address"
    block = failed[0]
    code = block.smtp_code or (450 if (block.status or "").startswith("4") else 550)
    reply = Reply(Stage.RCPT, code, f"{block.status or ''} {block.diagnostic}".strip())
    verdict = classify(reply)
    target = {Verdict.HARD: State.BOUNCED, Verdict.BLOCKED: State.BLOCKED}.get(
        verdict, State.SOFT_BOUNCED
    )
    settled = await reports.settle(
        Settlement(
            event.message_id,
            source=REPORTABLE,
            target=target,
            text=f"DSN: {reply.text}",
            events=lambda: _dsn_events(event, known, block, reply, target),
        )
    )
    return target.value if settled else "already_settled"


def _dsn_events(
    event: ReportReceived, known: Delivered, block: ReportedRecipient, reply: Reply, state: State
) -> list[Event]:
    common = {
        "tenant_id": known.tenant_id,
        "campaign_id": known.campaign_id,
        "message_id": event.message_id,
        "email": known.email,
        "smtp_code": reply.code,
        "enhanced_status": block.status,
        "diagnostic": block.diagnostic[:1000],
    }
    if state is State.BLOCKED:
        if known.customer_id is None:
            return []
        return [
            MessageBlocked(
                event_id=event_id(event.message_id, "MessageBlocked"),
                customer_id=known.customer_id,
                **common,
            )
        ]
    kind = BounceKind.HARD if state is State.BOUNCED else BounceKind.SOFT
    return [
        Bounced(
            event_id=event_id(event.message_id, "Bounced"),
            customer_id=known.customer_id,
            kind=kind,
            source="dsn",
            **common,
        )
    ]


async def _complaint(
    event: ReportReceived, known: Delivered, reports: Reports, suppressions: Suppressions
) -> str:
    # Providers often redact the complainant's address; the signed return path already
    # names the message, so only an address that is there and differs disqualifies.
    if event.complained_by is not None and not _same(event.complained_by, known.email):
        return "other_address"
    if known.customer_id is None:
        return "unverifiable"
    customer_id, email = known.customer_id, known.email
    assert email is not None
    complained = Complained(
        event_id=event_id(event.message_id, "Complained"),
        tenant_id=known.tenant_id,
        campaign_id=known.campaign_id,
        message_id=event.message_id,
        customer_id=customer_id,
        email=email,
        feedback_type=event.feedback_type or "abuse",
    )
    settled = await reports.settle(
        Settlement(
            event.message_id,
            source=REPORTABLE,
            target=State.COMPLAINED,
            text=f"complaint: {complained.feedback_type}",
            events=lambda: [complained],
        )
    )
    if not settled:
        return "already_settled"
    # Like an unsubscribe: messages to the customer resolved before now are dropped.
    await suppressions.suppress_customer(known.tenant_id, customer_id, event.occurred_at)
    return State.COMPLAINED.value


async def unknown_resolved(event: UnknownResolution, *, reports: Reports) -> None:
    changed = await reports.resolve_unknown(event)
    if changed is not None:
        log.info(
            "campaign %s: %s for %d unknown messages", event.campaign_id, event.action, changed
        )


def _same(a: str, b: str | None) -> bool:
    return b is not None and a.strip().lower() == b.strip().lower()
