"""Tracking consumes nothing from Kafka; it publishes what hits and bounces tell."""

from __future__ import annotations

from typing import Any

from contracts import Bounced, Clicked, Opened, Unsubscribed
from servicekit.kafka import Subscription
from tracking.settings import Settings

EMITS = (Opened, Clicked, Unsubscribed, Bounced)


def subscriptions(_: Settings) -> list[Subscription[Any]]:
    return []
