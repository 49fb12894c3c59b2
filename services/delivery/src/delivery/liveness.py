"""Liveness of delivery processes: each beats; any process sweeps the SENDING rows of the
dead ones to UNKNOWN (at start, then periodically), since their mail may have gone out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from uuid import UUID

from delivery.ports import Instances, Ledger

log = logging.getLogger(__name__)


class Liveness:
    def __init__(
        self,
        instances: Instances,
        ledger: Ledger,
        *,
        owner: str,
        beat_seconds: float,
        owner_timeout: float,
        on_swept: Callable[[Iterable[UUID]], None],
    ) -> None:
        self._instances = instances
        self._ledger = ledger
        self._owner = owner
        self._beat = beat_seconds
        self._timeout = owner_timeout
        self._on_swept = on_swept

    async def start(self) -> None:
        """Announce this process before it claims anything, and sweep what the dead left."""
        await self._instances.heartbeat(self._owner)
        await self._instances.prune()
        await self.sweep()

    async def sweep(self) -> None:
        campaigns = await self._ledger.sweep_dead_in_flight(self._timeout)
        if campaigns:
            log.warning("in-flight messages of dead processes marked unknown: %s", campaigns)
            self._on_swept(campaigns)

    async def run(self) -> None:
        beats = 0
        sweep_every = max(1, round(self._timeout / 3 / self._beat))
        while True:
            await asyncio.sleep(self._beat)  # a timer loop, not a consumer callback
            beats += 1
            try:
                await self._instances.heartbeat(self._owner)
                if beats % sweep_every == 0:
                    await self.sweep()
            except Exception:
                log.exception("heartbeat or sweep failed")

    async def stop(self) -> None:
        await self._instances.forget(self._owner)
