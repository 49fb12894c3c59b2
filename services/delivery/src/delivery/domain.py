"""Delivery rules: the ledger's states, what an attempt leads to (retry timing and the
horizon), and the events a state produces. Pure: no I/O."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from contracts import (
    Bounced,
    BounceKind,
    DeliveryProgress,
    Event,
    MessageBlocked,
    MessageSent,
    RecipientResolved,
)
from delivery.bounces import Reply, Verdict, classify, enhanced_status


class State(StrEnum):
    """A message's row in the ledger.

    SENDING is written (in small groups) just before the message goes to a sender; its
    DATA marker (`data_at`) just before its content goes on the wire. A row a dead process
    left in SENDING with the marker may have been accepted: it becomes UNKNOWN and is
    resent only when an operator says so; without the marker it never reached DATA and
    is simply sent again. RETRY rows wait for `next_attempt_at`. A row that was SENT may
    still become BOUNCED (a DSN for its address) or COMPLAINED (a feedback-loop report).
    """

    SENDING = "sending"
    RETRY = "retry"
    SENT = "sent"
    BOUNCED = "bounced"
    SOFT_BOUNCED = "soft_bounced"
    BLOCKED = "blocked"
    COMPLAINED = "complained"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SUPPRESSED = "suppressed"


FINAL = frozenset(
    {
        State.SENT,
        State.BOUNCED,
        State.SOFT_BOUNCED,
        State.BLOCKED,
        State.COMPLAINED,
        State.FAILED,
        State.UNKNOWN,
        State.SUPPRESSED,
    }
)


@dataclass(frozen=True, slots=True)
class Decision:
    state: State
    retry_in: float | None = None


_FINAL_VERDICT = {
    Verdict.ACCEPTED: State.SENT,
    Verdict.UNKNOWN: State.UNKNOWN,
    Verdict.HARD: State.BOUNCED,
    Verdict.BLOCKED: State.BLOCKED,
    Verdict.FAILED: State.FAILED,
}


def decide(reply: Reply, attempts: int, age: float, policy: RetryPolicy) -> Decision:
    """The ledger state an attempt leads to; `attempts` counts this one, `age` is the
    seconds since the message's first attempt. Temporary failures are retried with
    backoff until the horizon (an MTA's queue lifetime), then soft-bounce."""
    state = _FINAL_VERDICT.get(classify(reply))
    if state is not None:
        return Decision(state)
    remaining = policy.horizon_seconds - age
    if remaining <= 0:
        return Decision(State.SOFT_BOUNCED)
    return Decision(State.RETRY, min(policy.delay(attempts), remaining))


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    max_seconds: float = 1800.0
    horizon_seconds: float = 86_400.0

    def delay(self, attempts: int) -> float:
        """Exponential, capped, with ±20% jitter so that retries of a burst spread out."""
        delay = min(self.max_seconds, self.base_seconds * 2.0 ** max(attempts - 1, 0))
        return delay * random.uniform(0.8, 1.2)


def event_id(subject: UUID, name: str) -> UUID:
    """Deterministic event id, so that an event re-published after a crash is a duplicate
    that consumers drop."""
    return uuid.uuid5(subject, name)


#: The fields by which every outcome event names its message and recipient.
_ADDRESSED: set[str] = {"tenant_id", "campaign_id", "message_id", "customer_id", "email"}


def outcome_events(
    r: RecipientResolved, state: State, reply_code: int | None, text: str
) -> list[Event]:
    """What the world learns from a message's final state."""
    addressed = {name: getattr(r, name) for name in _ADDRESSED}
    if state is State.SENT:
        return [
            MessageSent(
                event_id=event_id(r.message_id, "MessageSent"),
                **addressed,
                name=r.name,
                notify_user_id=r.notify_user_id,
                smtp_response=text[:500],
            )
        ]
    if state in (State.BOUNCED, State.SOFT_BOUNCED):
        kind = BounceKind.HARD if state is State.BOUNCED else BounceKind.SOFT
        return [
            Bounced(
                event_id=event_id(r.message_id, "Bounced"),
                **addressed,
                **_refusal(reply_code, text),
                kind=kind,
                source="smtp",
            )
        ]
    if state is State.BLOCKED:
        return [
            MessageBlocked(
                event_id=event_id(r.message_id, "MessageBlocked"),
                **addressed,
                **_refusal(reply_code, text),
            )
        ]
    return []


def _refusal(reply_code: int | None, text: str) -> dict[str, object]:
    """How a refused message's reply reads in its Bounced or MessageBlocked event."""
    return {
        "smtp_code": reply_code,
        "enhanced_status": enhanced_status(text),
        "diagnostic": text[:1000],
    }


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
            blocked=self.get(State.BLOCKED),
            complained=self.get(State.COMPLAINED),
            sequence=sequence,
        )
