"""Tracking's own metrics (named `tracking_...`). Every process reports its own counters."""

from prometheus_client import Counter

HITS = Counter(
    "tracking_hits_total",
    "Hits whose event Kafka acknowledged, by kind (open, click, unsubscribe, bounce)",
    ["kind"],
)
REJECTED_TOKENS = Counter(
    "tracking_rejected_tokens_total",
    "Requests or mails whose token did not verify (no event), by kind",
    ["kind"],
)
REPLAYED = Counter(
    "tracking_replayed_hits_total",
    "Hits answered as usual but not published: their token was hit more than "
    "HIT_REPLAY_LIMIT times within HIT_REPLAY_WINDOW_S in this process, by kind",
    ["kind"],
)
PUBLISH_FAILURES = Counter(
    "tracking_publish_failures_total",
    "Events Kafka did not acknowledge; the request was answered with an error",
)
INBOUND_KEPT = Counter(
    "tracking_inbound_mail_kept_total",
    "Mails to a return path stored instead of becoming events, by reason "
    "(not_dsn, no_failure, unreadable)",
    ["reason"],
)
INBOUND_PURGED = Counter(
    "tracking_inbound_mail_purged_total",
    "Stored mails deleted after INBOUND_MAIL_RETENTION_DAYS",
)
BOUNCE_REFUSED = Counter(
    "tracking_bounce_refused_total",
    "Recipients, mails and commands the bounce intake refused, by reason (no_token, "
    "too_large, line_too_long, command_too_long, too_deep, too_many_parts)",
    ["reason"],
)
