"""DATA markers: before a message's content goes on the wire, its ledger row says so, so
that after a crash only messages that may really have been accepted become unknown.

A sender asks for the marker of its job and of the one it announces behind it as soon as
it has them; whatever the senders asked for meanwhile is written in one statement, and
each session waits for its job's marker only right before the content, by when it is
usually long written. A marker the ledger refuses (the row is no longer this process's)
withdraws the message: its content is never written.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from delivery.pipeline.items import Job
from delivery.ports import Ledger

log = logging.getLogger(__name__)


class Marker:
    def __init__(self, ledger: Ledger, owner: str) -> None:
        self._ledger = ledger
        self._owner = owner
        self._pending: dict[UUID, asyncio.Future[bool]] = {}
        self._wake = asyncio.Event()

    def mark(self, job: Job) -> None:
        if job.mark is not None:
            return
        job.mark = asyncio.get_running_loop().create_future()
        self._pending[job.event.message_id] = job.mark
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = self._pending, {}
            if pending:
                await self._write(pending)

    async def _write(self, pending: dict[UUID, asyncio.Future[bool]]) -> None:
        try:
            marked = await self._ledger.mark(list(pending), self._owner)
        except Exception as exc:
            # Not retried: a sender waits for its marker, and an unwritten message is
            # simply tried again later, where a written one without a marker could be
            # sent twice after a crash.
            log.warning("DATA markers not written, %d messages withdrawn: %r", len(pending), exc)
            marked = set()
        for message_id, future in pending.items():
            if not future.done():
                future.set_result(message_id in marked)

    def close(self) -> None:
        """Stopping: whoever still waits for a marker gets a refusal."""
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_result(False)
