"""Metrics of the recipients service."""

from prometheus_client import Counter, Histogram

RESOLUTION_SECONDS = Histogram(
    "recipients_resolution_seconds",
    "From CampaignScheduled consumed to AudienceResolved acknowledged (after every "
    "RecipientResolved was acknowledged)",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600),
)
RECIPIENTS = Counter("recipients_recipients_total", "Recipients published (RecipientResolved)")
EXCLUDED = Counter("recipients_excluded_total", "Customers left out of audiences", ["reason"])
SUPPRESSIONS = Counter(
    "recipients_suppressions_total", "Customers newly registered as suppressed", ["kind"]
)
