"""The release scheduler: every `interval` seconds, releases the scheduled campaigns whose
time has come. Row locks with SKIP LOCKED let several composer instances run it at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from prometheus_client import Counter

from composer import handlers
from composer.ports import Clock, Store

log = logging.getLogger(__name__)

RELEASED = Counter("composer_campaigns_released_total", "Scheduled campaigns released")


class ReleaseScheduler:
    def __init__(self, store: Store, clock: Clock, *, interval: float, batch: int) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            released = 0
            try:
                released = len(
                    await handlers.release_due(
                        store=self._store, clock=self._clock, limit=self._batch
                    )
                )
                RELEASED.inc(released)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("release pass failed, will retry: %r", exc)
            except Exception:
                log.exception("release pass failed, will retry")
            if released < self._batch:  # a full batch means more may be due right now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._interval)

    def stop(self) -> None:
        self._stopping.set()
