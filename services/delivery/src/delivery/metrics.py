"""Delivery's own metrics (named `delivery_...`)."""

from prometheus_client import Counter, Gauge

from delivery.domain import State

OUTCOMES = Counter("delivery_messages_total", "Messages by ledger state reached", ["state"])
OUTCOME = {state: OUTCOMES.labels(state.value) for state in State}
HELD = Gauge("delivery_held_messages", "Redelivered messages waiting for their owner")
REPLAYED = Counter(
    "delivery_redelivered_total", "Redelivered messages the ledger already knew", ["state"]
)
