"""Background loops of a service (outbox relay, schedulers, sweepers): one shape for all.

A `Periodic` runs one step, again at once while the step reports more work, otherwise
after `interval` seconds; an error is logged and the step is tried again after a pause,
because a loop that dies silently is worse than one that complains. `running` starts
loops with the service and stops them with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import KW_ONLY, dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)


class Loop(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(eq=False)
class Periodic:
    name: str
    step: Callable[[], Awaitable[bool | None]]
    _: KW_ONLY
    interval: float
    pause_after_error: float = 1.0
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = bool(await self.step())
            except Exception as exc:
                log.warning("%s failed, will retry: %r", self.name, exc, exc_info=True)
                busy = False
                await self._sleep(self.pause_after_error)
            if not busy:
                await self._sleep(self.interval)

    def stop(self) -> None:
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


@asynccontextmanager
async def running(*loops: Loop, grace: float = 10.0) -> AsyncIterator[None]:
    """Run the loops while the block runs; on exit ask them to stop, give them `grace`
    seconds to finish their step, then cancel what is left."""
    tasks = [asyncio.create_task(loop.run()) for loop in loops]
    try:
        yield
    finally:
        for loop in loops:
            loop.stop()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
