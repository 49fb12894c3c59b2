"""The digest cycle as one object: schedule waiting hits, close periods, send what is due.

Used by the periodic closer in the service, the HTTP admin endpoint and the operator command.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from notifier import handlers
from notifier.handlers import SendOptions
from notifier.metrics import DIGESTS_CLAIMED, DIGESTS_SENT
from notifier.ports import Clock, DigestLedger, HitStore, Mailer
from servicekit.loops import Periodic

log = logging.getLogger(__name__)

PRUNE_EVERY = 60  # closer ticks


@dataclass
class DigestCycle:
    hits: HitStore
    ledger: DigestLedger
    mailer: Mailer
    clock: Clock
    options: SendOptions

    async def close_and_send(
        self, as_of: datetime, tenant_id: UUID | None = None, *, wait_s: float = 0.0
    ) -> dict[str, Any]:
        """Close the periods that ended by `as_of` and send their digests.

        With `wait_s`, also waits that long for digests claimed here that another process
        (holding their lease) is sending.
        """
        await handlers.schedule_awaiting(store=self.hits)
        claimed = await handlers.close_periods(
            as_of, ledger=self.ledger, store=self.hits, tenant_id=tenant_id
        )
        sent = await self.send()
        DIGESTS_CLAIMED.inc(len(claimed))
        unsent = await self.ledger.unsent(claimed)
        deadline = time.monotonic() + wait_s
        while unsent and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            sent += await self.send()
            unsent = await self.ledger.unsent(claimed)
        return {
            "as_of": as_of.isoformat(),
            "claimed": len(claimed),
            "sent": sent,
            "unsent": len(unsent),
        }

    async def send(self) -> int:
        sent = await handlers.send_due_digests(
            ledger=self.ledger, mailer=self.mailer, clock=self.clock, options=self.options
        )
        DIGESTS_SENT.inc(sent)
        return sent

    def loop(self, interval_s: float, keep_days: int) -> Periodic:
        """Every `interval_s`: close the periods that ended by now; now and then, prune."""
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            await self.close_and_send(self.clock.now())
            ticks += 1
            if ticks % PRUNE_EVERY == 0:
                await self.hits.prune(keep_days)

        return Periodic("closing digest periods", tick, interval=interval_s)


def fault_after_build(mode: str) -> Callable[[], None] | None:
    """Test-only hook between building a digest and sending it (see settings)."""
    if mode == "exit":
        return lambda: os._exit(137)
    if mode == "pause":

        def pause() -> None:
            print("notifier-fault: digest built", file=sys.stderr, flush=True)
            time.sleep(3600)  # blocks the whole process on purpose: it waits for SIGKILL

        return pause
    return None
