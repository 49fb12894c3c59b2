"""The `Publisher` port: a group-committing front to the platform's batch sender.

Every hit waits for Kafka's acknowledgement before its HTTP response goes out, so the cost
per hit must be small and many hits must share one produce request. Events submitted while
a request is in flight are collected; when it is acknowledged, all of them leave together
in the next one. One request is in flight at a time, which is also what the producer does
towards one broker, so nothing is lost by waiting, and each waiter pays for one future
instead of one `send()` call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from contracts import Event
from servicekit.kafka import BatchSender, Record, event_record
from servicekit.metrics import PUBLISH_SECONDS

log = logging.getLogger(__name__)


class GroupCommitPublisher:
    def __init__(self, sender: BatchSender) -> None:
        self._sender = sender
        self._pending: list[Record] = []
        self._waiter: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def ping(self) -> None:
        await self._sender.ping()

    def submit(self, event: Event) -> asyncio.Future[None]:
        self._pending.append(event_record(event))
        waiter = self._waiter
        if waiter is None:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            if self._flusher is None:
                # Starts on the next loop iteration: every hit of this one joins the batch.
                self._flusher = loop.create_task(self._flush())
        return waiter

    async def publish(self, events: Sequence[Event]) -> None:
        waiters = {id(w): w for w in map(self.submit, events)}
        await asyncio.gather(*waiters.values())

    async def drain(self) -> None:
        """Wait for what was submitted (at shutdown)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        try:
            while self._pending:
                records, waiter = self._pending, self._waiter
                self._pending, self._waiter = [], None
                assert waiter is not None
                try:
                    with PUBLISH_SECONDS.time():
                        await (await self._sender.send(records))
                except Exception as exc:
                    log.warning("Kafka did not acknowledge %d events: %r", len(records), exc)
                    waiter.set_exception(exc)
                    waiter.exception()  # retrieved: waiters read it, the loop must not warn
                else:
                    waiter.set_result(None)
        finally:
            self._flusher = None
