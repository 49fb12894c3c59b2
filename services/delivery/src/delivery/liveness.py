"""Liveness of delivery processes: each beats; any process sweeps the SENDING rows of the
dead ones to UNKNOWN (at start, then periodically), since their mail may have gone out."""

from __future__ import annotations

import logging

from delivery.ports import Instances, Ledger
from servicekit.loops import Periodic

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
    ) -> None:
        self._instances = instances
        self._ledger = ledger
        self._owner = owner
        self._beat = beat_seconds
        self._timeout = owner_timeout
        self._beats = 0

    async def start(self) -> None:
        """Announce this process before it claims anything, and sweep what the dead left."""
        await self._instances.heartbeat(self._owner)
        await self._instances.prune()
        await self.sweep()

    async def sweep(self) -> None:
        campaigns = await self._ledger.sweep_dead_in_flight(self._timeout)
        if campaigns:
            log.warning("in-flight messages of dead processes marked unknown: %s", campaigns)

    def loop(self) -> Periodic:
        sweep_every = max(1, round(self._timeout / 3 / self._beat))

        async def beat() -> None:
            self._beats += 1
            await self._instances.heartbeat(self._owner)
            if self._beats % sweep_every == 0:
                await self.sweep()

        return Periodic("heartbeat", beat, interval=self._beat)

    async def stop(self) -> None:
        await self._instances.forget(self._owner)
