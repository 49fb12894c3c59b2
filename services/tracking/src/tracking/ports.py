"""What tracking needs from the outside world. Adapters implement these; tests fake them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from contracts import Event


class Publisher(Protocol):
    """Kafka, as tracking uses it: nothing counts as recorded before Kafka acknowledged it."""

    def submit(self, event: Event) -> asyncio.Future[None]:
        """Queue one event; the future resolves once Kafka acknowledged it (or fails)."""
        ...

    async def publish(self, events: Sequence[Event]) -> None:
        """Publish and wait until Kafka acknowledged every event."""
        ...


class MailStore(Protocol):
    """Inbound mail that did not become an event, kept for a person to look at, for a while."""

    async def keep(
        self, raw: bytes, *, mail_from: str, rcpt_tos: list[str], reason: str
    ) -> None: ...

    async def purge(self, *, older_than_days: int, limit: int) -> int:
        """Deletes up to `limit` mails kept longer than that; returns how many."""
        ...
