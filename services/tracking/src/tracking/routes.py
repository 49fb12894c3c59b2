"""Kafka side of tracking: it consumes nothing; it declares what it emits (AsyncAPI)."""

from __future__ import annotations

from faststream.kafka import KafkaRouter

from contracts import Event
from servicekit.kafka import declare_emits


def register(router: KafkaRouter, *emits: type[Event]) -> None:
    declare_emits(router, *emits)
