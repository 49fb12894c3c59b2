"""Delivery's own metrics (named `delivery_...`)."""

from prometheus_client import Counter, Gauge

from delivery.domain import State

OUTCOMES = Counter("delivery_messages_total", "Messages by ledger state reached", ["state"])
OUTCOME = {state: OUTCOMES.labels(state.value) for state in State}
HELD = Gauge("delivery_held_messages", "Redelivered messages waiting for their owner")
REPLAYED = Counter(
    "delivery_redelivered_total", "Redelivered messages the ledger already knew", ["state"]
)
REPORTS = Counter(
    "delivery_reports_total",
    "Inbound reports (DSN, ARF) by what became of them",
    ["kind", "outcome"],
)
REPORT_BLOCKS_IGNORED = Counter(
    "delivery_report_blocks_ignored_total",
    "DSN recipient blocks naming an address their message did not go to",
)
