"""What travels between the steps of the pipeline, and the state two steps share.

- `Item`: a RecipientResolved read from Kafka, with where it came from;
- `Job`: a rendered mail whose ledger row is SENDING in this process;
- `Ready`: the hand-off from the claimer and the retrier to the senders, kept short so that
  few rows are SENDING without being on the wire (what a crash leaves unknown);
- `InFlight`: messages this process claimed whose outcome the ledger does not hold yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from contracts import RecipientResolved
from delivery.domain import Reply
from delivery.ports import TopicPartition
from mailkit.render import Mail

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class Item:
    tp: TopicPartition
    offset: int
    generation: int
    raw: bytes
    event: RecipientResolved


@dataclass(slots=True)
class Job:
    event: RecipientResolved
    mail: Mail
    attempts: int
    raw: bytes
    item: Item | None  # None: a retry taken from the ledger (no offset waits for it)


@dataclass(slots=True)
class Outcome:
    job: Job
    reply: Reply


class InFlight:
    """A message is in flight from its claim until the ledger recorded its outcome. A
    redelivered copy of an in-flight message is held, never taken for a lost claim."""

    def __init__(self) -> None:
        self._ids: set[UUID] = set()

    def add(self, ids: Iterable[UUID]) -> None:
        self._ids.update(ids)

    def discard(self, ids: Iterable[UUID]) -> None:
        self._ids.difference_update(ids)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


class Ready:
    """Jobs waiting for a sender. There is room while fewer than `chunk` wait."""

    def __init__(self, chunk: int) -> None:
        self._chunk = chunk
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._room = asyncio.Event()
        self._room.set()

    def put(self, job: Job) -> None:
        self._jobs.put_nowait(job)
        if self._jobs.qsize() >= self._chunk:
            self._room.clear()

    async def get(self) -> Job:
        job = await self._jobs.get()
        self._taken()
        return job

    def get_nowait(self) -> Job | None:
        try:
            job = self._jobs.get_nowait()
        except asyncio.QueueEmpty:
            return None
        self._taken()
        return job

    async def wait_room(self) -> None:
        await self._room.wait()

    def room(self) -> int:
        return self._chunk - self._jobs.qsize()

    def __len__(self) -> int:
        return self._jobs.qsize()

    def _taken(self) -> None:
        if self._jobs.qsize() < self._chunk:
            self._room.set()


async def retrying(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Ledger and Kafka writes are retried until they succeed: giving up would lose the
    outcome of a mail that was sent. (Pipeline tasks call this, never a consumer.)"""
    delay = 0.2
    while True:
        try:
            return await call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed, retrying in %.1fs: %r", what, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
