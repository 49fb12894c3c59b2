"""What travels between the steps of the pipeline, and the state two steps share.

- `Item`: a RecipientResolved read from Kafka, with where it came from;
- `Job`: a rendered mail whose ledger row is SENDING in this process;
- `Outcome`: what became of a job: a reply, or parked (back to the ledger unattempted);
- `InFlight`: messages this process claimed whose outcome the ledger does not hold yet;
- `Shared`: what the claimer, the recorder and the retrier of one process work with alike.

The hand-off from the claimer and the retrier to the senders is the dispatcher
(dispatch.py): one queue per destination.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from contracts import RecipientResolved
from delivery.bounces import Reply
from delivery.pipeline.offsets import OffsetTracker
from delivery.ports import Ledger, Publisher, TopicPartition
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
    #: When the first attempt was made (epoch seconds): the retry horizon counts from it.
    since: float = 0.0
    #: The recipient domain, and the shaping scope whose queue the job waits in.
    domain: str = ""
    scope: str = ""
    #: Resolves to True once the DATA marker is in the ledger (False: not ours any more).
    mark: asyncio.Future[bool] | None = None
    #: Times the job went back to its queue without an attempt being counted.
    requeues: int = 0


@dataclass(slots=True)
class Outcome:
    job: Job
    #: None: the job was parked: back to the ledger, due in `defer` seconds, unattempted.
    reply: Reply | None
    defer: float | None = None
    why: str = ""


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


@dataclass(frozen=True, slots=True)
class Shared:
    """What the claimer, the recorder and the retrier of one process work with alike."""

    owner: str
    ledger: Ledger
    publisher: Publisher
    tracker: OffsetTracker
    in_flight: InFlight
    clock: Callable[[], float]
