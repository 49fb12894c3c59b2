"""The release scheduler: every `interval` seconds, releases the scheduled campaigns whose
time has come. Row locks with SKIP LOCKED let several composer instances run it at once."""

from __future__ import annotations

from composer import handlers
from composer.metrics import RELEASED
from composer.ports import Clock, Store
from servicekit.loops import Periodic


def release_loop(store: Store, clock: Clock, interval: float, batch: int) -> Periodic:
    async def release() -> bool:
        released = len(await handlers.release_due(store=store, clock=clock, limit=batch))
        RELEASED.inc(released)
        return released == batch  # a full batch means more may be due right now

    return Periodic("release scheduler", release, interval=interval)
