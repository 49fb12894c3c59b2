"""Liveness of delivery processes: each beats; any process sweeps the SENDING rows of the
dead ones to UNKNOWN (at start, then periodically), since their mail may have gone out."""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass, field

from delivery.ports import Instances, Ledger
from servicekit.loops import Periodic

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Liveness:
    instances: Instances
    ledger: Ledger
    _: KW_ONLY
    owner: str
    beat_seconds: float
    #: A process silent this long is dead.
    owner_timeout: float
    _beats: int = field(default=0, init=False)

    async def start(self) -> None:
        """Announce this process before it claims anything, and sweep what the dead left."""
        await self.instances.heartbeat(self.owner)
        await self.instances.prune()
        await self.sweep()

    async def sweep(self) -> None:
        campaigns = await self.ledger.sweep_dead_in_flight(self.owner_timeout)
        if campaigns:
            log.warning("in-flight messages of dead processes marked unknown: %s", campaigns)

    def loop(self) -> Periodic:
        sweep_every = max(1, round(self.owner_timeout / 3 / self.beat_seconds))

        async def beat() -> None:
            self._beats += 1
            await self.instances.heartbeat(self.owner)
            if self._beats % sweep_every == 0:
                await self.sweep()

        return Periodic("heartbeat", beat, interval=self.beat_seconds)

    async def stop(self) -> None:
        await self.instances.forget(self.owner)
