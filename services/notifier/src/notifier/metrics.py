"""The notifier's own metrics (named `notifier_...`, as several services may share a process)."""

from prometheus_client import Counter

HITS = Counter(
    "notifier_hits_total",
    "Opens and clicks handled, by classification (first_open, reopen, click, suppressed, machine)",
    ["kind"],
)
DIGESTS_CLAIMED = Counter("notifier_digests_claimed_total", "Digests claimed when periods closed")
DIGESTS_SENT = Counter("notifier_digests_sent_total", "Digests accepted by the mail server")
