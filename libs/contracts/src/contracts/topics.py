"""Kafka topic names and partition counts: the one list `make up` creates topics from.

Partition keys are chosen by each event's `partition_key()`: per message for the per-message
streams (so one message's events stay in order), per campaign or customer elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

CAMPAIGN_SCHEDULED = "campaign.scheduled"
CAMPAIGN_CANCELLED = "campaign.cancelled"
RECIPIENT_RESOLVED = "recipient.resolved"
AUDIENCE_RESOLVED = "audience.resolved"
MESSAGE_SENT = "message.sent"
MESSAGE_BOUNCED = "message.bounced"
DELIVERY_PROGRESS = "delivery.progress"
OPENED = "tracking.opened"
CLICKED = "tracking.clicked"
UNSUBSCRIBED = "customer.unsubscribed"
COMPLAINED = "customer.complained"
MESSAGE_BLOCKED = "message.blocked"
REPORT_RECEIVED = "tracking.report"
UNKNOWN_RESOLUTION = "delivery.unknown_resolution"
DIGEST_SENT = "digest.sent"

DEAD_LETTER_SUFFIX = ".dlt"


def dead_letter(topic: str) -> str:
    """Topic where a consumer of `topic` parks messages it cannot decode."""
    return topic + DEAD_LETTER_SUFFIX


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int


# Delivery scales out by consumer group members, at most one per partition of its input.
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(CAMPAIGN_SCHEDULED, 3),
    TopicSpec(CAMPAIGN_CANCELLED, 1),
    TopicSpec(RECIPIENT_RESOLVED, 8),
    TopicSpec(AUDIENCE_RESOLVED, 3),
    TopicSpec(MESSAGE_SENT, 6),
    TopicSpec(MESSAGE_BOUNCED, 3),
    TopicSpec(DELIVERY_PROGRESS, 3),
    TopicSpec(OPENED, 6),
    TopicSpec(CLICKED, 6),
    TopicSpec(UNSUBSCRIBED, 3),
    TopicSpec(COMPLAINED, 3),
    TopicSpec(MESSAGE_BLOCKED, 3),
    TopicSpec(REPORT_RECEIVED, 3),
    TopicSpec(UNKNOWN_RESOLUTION, 1),
    TopicSpec(DIGEST_SENT, 1),
)


def all_topics() -> tuple[TopicSpec, ...]:
    """Every topic with its dead-letter twin (one partition is enough for those)."""
    return TOPICS + tuple(TopicSpec(dead_letter(t.name), 1) for t in TOPICS)
