"""The composer's own metrics (named `composer_...`)."""

from prometheus_client import Counter

RELEASED = Counter("composer_campaigns_released_total", "Scheduled campaigns released")
