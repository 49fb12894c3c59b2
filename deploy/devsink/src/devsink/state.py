"""What the SMTP side and the control API share."""

from __future__ import annotations

from dataclasses import dataclass

from devsink.policy import RecipientPolicy
from devsink.stats import SinkStats
from devsink.store import MessageStore


@dataclass(frozen=True)
class SinkState:
    """The stored messages, the recipient policy and the counters of one sink."""

    store: MessageStore
    policy: RecipientPolicy
    stats: SinkStats
