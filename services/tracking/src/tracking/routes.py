"""Kafka subscribers: decode -> handler -> publish. Each states its ack policy."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from faststream.kafka import KafkaRouter

from contracts import Opened
from servicekit.kafka import declare_emits


@dataclass
class Deps:
    pool: asyncpg.Pool = field(init=False)


def register(router: KafkaRouter, deps: Deps, *, group_id: str) -> None:
    """Tracking consumes nothing; it only declares what it emits."""
    declare_emits(router, Opened)
