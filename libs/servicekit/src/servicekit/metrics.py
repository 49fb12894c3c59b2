"""Metrics every service reports. Service-specific metrics are named `<service>_...` so
that several services can share one process (docs generation, tests)."""

from prometheus_client import Counter, Histogram

EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events whose subscriber's handler succeeded", ["topic"]
)
EVENTS_PUBLISHED = Counter(
    "events_published_total", "Events Kafka acknowledged, outbox relays included", ["topic"]
)
PUBLISH_SECONDS = Histogram(
    "kafka_publish_seconds",
    "Time from publish to Kafka acknowledgement",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
