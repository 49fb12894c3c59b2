"""Delivery rules: the ledger's states, what an SMTP reply means, retry timing, and the
events a state produces. Pure: no I/O."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from contracts import Bounced, BounceKind, DeliveryProgress, Event, MessageSent, RecipientResolved


class State(StrEnum):
    """A message's row in the ledger.

    SENDING is written (in small groups) immediately before the SMTP transaction starts, so
    a row left in SENDING by a dead process may or may not have been accepted: it becomes
    UNKNOWN and is never retried automatically. RETRY rows wait for `next_attempt_at`.
    """

    SENDING = "sending"
    RETRY = "retry"
    SENT = "sent"
    BOUNCED = "bounced"
    SOFT_BOUNCED = "soft_bounced"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SUPPRESSED = "suppressed"


FINAL = frozenset(
    {
        State.SENT,
        State.BOUNCED,
        State.SOFT_BOUNCED,
        State.FAILED,
        State.UNKNOWN,
        State.SUPPRESSED,
    }
)


class Stage(StrEnum):
    """How far an SMTP transaction got."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    #: The message was written in full; only the server's final reply was missing.
    END = "end"


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server said (code None: no reply, the connection failed at `stage`)."""

    stage: Stage
    code: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Decision:
    state: State
    retry_in: float | None = None


_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_status(text: str) -> str | None:
    """RFC 3463 status at the start of a reply text, e.g. `5.1.1`."""
    match = _ENHANCED.match(text)
    return match.group(1) if match else None


def decide(reply: Reply, attempts: int, policy: RetryPolicy) -> Decision:
    """The ledger state an attempt leads to; `attempts` counts this one."""
    code = reply.code
    if code is not None and 200 <= code < 300 and reply.stage is Stage.END:
        return Decision(State.SENT)
    if code is None and reply.stage is Stage.END:
        # The whole message went out; it may have been accepted. Resending could duplicate.
        return Decision(State.UNKNOWN)
    if code is not None and code >= 500:
        # A refused sender is our problem, not the recipient's: no bounce registration.
        return Decision(State.FAILED if reply.stage is Stage.MAIL else State.BOUNCED)
    if attempts >= policy.max_attempts:
        return Decision(State.SOFT_BOUNCED)
    return Decision(State.RETRY, policy.delay(attempts))


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    max_attempts: int = 6

    def delay(self, attempts: int) -> float:
        """Exponential, capped, with ±20% jitter so that retries of a burst spread out."""
        delay = min(self.max_seconds, self.base_seconds * 2.0 ** max(attempts - 1, 0))
        return delay * random.uniform(0.8, 1.2)


def event_id(subject: UUID, name: str) -> UUID:
    """Deterministic event id, so that an event re-published after a crash is a duplicate
    that consumers drop."""
    return uuid.uuid5(subject, name)


def outcome_events(
    r: RecipientResolved, state: State, reply_code: int | None, text: str
) -> list[Event]:
    """What the world learns from a message's final state."""
    if state is State.SENT:
        return [
            MessageSent(
                event_id=event_id(r.message_id, "MessageSent"),
                tenant_id=r.tenant_id,
                campaign_id=r.campaign_id,
                message_id=r.message_id,
                customer_id=r.customer_id,
                email=r.email,
                name=r.name,
                notify_user_id=r.notify_user_id,
                smtp_response=text[:500],
            )
        ]
    if state in (State.BOUNCED, State.SOFT_BOUNCED):
        return [
            Bounced(
                event_id=event_id(r.message_id, "Bounced"),
                tenant_id=r.tenant_id,
                campaign_id=r.campaign_id,
                message_id=r.message_id,
                customer_id=r.customer_id,
                email=r.email,
                kind=BounceKind.HARD if state is State.BOUNCED else BounceKind.SOFT,
                smtp_code=reply_code,
                enhanced_status=enhanced_status(text),
                diagnostic=text[:1000],
                source="smtp",
            )
        ]
    return []


@dataclass(frozen=True)
class Counts:
    """Messages of one campaign per ledger state."""

    by_state: Mapping[str, int]

    def get(self, state: State) -> int:
        return self.by_state.get(state.value, 0)

    def progress(self, tenant_id: UUID, campaign_id: UUID, sequence: int) -> DeliveryProgress:
        return DeliveryProgress(
            event_id=uuid.uuid5(campaign_id, f"DeliveryProgress:{sequence}"),
            tenant_id=tenant_id,
            campaign_id=campaign_id,
            sent=self.get(State.SENT),
            bounced=self.get(State.BOUNCED),
            soft_bounced=self.get(State.SOFT_BOUNCED),
            failed=self.get(State.FAILED),
            unknown=self.get(State.UNKNOWN),
            suppressed=self.get(State.SUPPRESSED),
            deferred=self.get(State.RETRY),
            sequence=sequence,
        )
