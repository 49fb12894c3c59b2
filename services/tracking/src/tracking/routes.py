"""Tracking consumes nothing from Kafka; it publishes what hits and bounces tell."""

from __future__ import annotations

from typing import Any

from contracts import Clicked, Opened, ReportReceived, Unsubscribed
from servicekit.kafka import Subscription
from tracking.settings import Settings

EMITS = (Opened, Clicked, Unsubscribed, ReportReceived)


def subscriptions(_: Settings) -> list[Subscription[Any]]:
    return []
