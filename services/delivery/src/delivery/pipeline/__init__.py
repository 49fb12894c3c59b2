"""The delivery pipeline: Kafka records in, SMTP transactions out, the ledger in between.

    subscription ─► intake ─► claim ─► dispatch ─► send ─► record ─► commit
                                ▲          ▲   └── parked ──┘
                  (held, looked │          └── retry (ledger rows whose attempt is due)
                    at again) ──┘

Each step is a module with one queue in and one out (see each for its rules); this class
only builds them, starts them and stops them. Dispatch holds one queue per destination
between the claimer and the senders. What two steps share: the offset tracker (intake
registers records, claim and record mark them done, commit reads it) and the set of
messages in flight (claim and retry add, record removes once the ledger holds the
outcome).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from delivery.catalog import CampaignCatalog
from delivery.domain import RetryPolicy
from delivery.pipeline.claim import Claimer
from delivery.pipeline.commit import Commits, Rebalance
from delivery.pipeline.dispatch import Dispatcher
from delivery.pipeline.intake import Intake
from delivery.pipeline.items import InFlight, Item, Outcome, Shared
from delivery.pipeline.mark import Marker
from delivery.pipeline.offsets import OffsetTracker
from delivery.pipeline.record import Recorder
from delivery.pipeline.retry import Retrier
from delivery.pipeline.send import Senders
from delivery.ports import Campaigns, Ledger, Mailer, Publisher, Router, Shaper
from delivery.shaping.config import Shaping
from servicekit.kafka import Batch
from servicekit.loops import Periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    owner: str
    concurrency: int = 8
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    recheck_seconds: float = 1.0
    retry_poll_seconds: float = 0.5
    commit_interval_seconds: float = 0.5
    intake_batches: int = 4
    namespace: str = ""
    shaping: Shaping = field(default_factory=Shaping)
    #: Delivering to each domain's mail exchangers rather than through one relay: the
    #: breakers are then per destination.
    direct: bool = False

    #: Messages rendered and claimed per ledger statement. The claimer claims the next
    #: chunk while less than one chunk waits for destinations that can take it.
    claim_chunk: int = 64


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        *,
        ledger: Ledger,
        campaigns: Campaigns,
        catalog: CampaignCatalog,
        mailer: Mailer,
        publisher: Publisher,
        shaper: Shaper,
        router: Router,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._c = config
        self.tracker = OffsetTracker()
        in_flight = InFlight()
        claims: asyncio.Queue[list[Item]] = asyncio.Queue(config.intake_batches)
        self._outcomes = outcomes = asyncio.Queue[Outcome]()
        self.dispatcher = ready = Dispatcher(
            config.shaping,
            shaper,
            outcomes,
            owner=config.owner,
            chunk=config.claim_chunk,
            direct=config.direct,
        )
        self.marker = Marker(ledger, config.owner)
        self.commits = Commits(self.tracker, config.namespace)
        self.intake = Intake(self.tracker, campaigns, catalog, self.commits, claims)
        shared = Shared(config.owner, ledger, publisher, self.tracker, in_flight, clock)
        self.claimer = Claimer(
            shared,
            chunk=config.claim_chunk,
            recheck_seconds=config.recheck_seconds,
            catalog=catalog,
            inbox=claims,
            ready=ready,
        )
        self.senders = Senders(mailer, router, ready, self.marker, outcomes)
        self.recorder = Recorder(shared, policy=config.policy, inbox=outcomes)
        retrier = Retrier(shared, catalog=catalog, ready=ready)
        self._retries = Periodic("retries", retrier.take, interval=config.retry_poll_seconds)
        self._commit_loop = Periodic(
            "offset commits", self._commit_step, interval=config.commit_interval_seconds
        )
        self._upkeep = Periodic("dispatch upkeep", ready.maintain, interval=0.25)
        self._tasks: list[asyncio.Task[None]] = []

    async def admit(self, batch: Batch[Any]) -> None:
        await self.intake.admit(batch)

    def rebalance(self) -> Rebalance:
        return Rebalance(self.commits, self._forget, self._c.namespace)

    def start(self) -> None:
        spawn = asyncio.get_running_loop().create_task
        self._tasks = [
            spawn(_forever("claimer", self.claimer.run)),
            spawn(self._retries.run()),
            spawn(_forever("recorder", self.recorder.run)),
            spawn(_forever("marker", self.marker.run)),
            spawn(self._commit_loop.run()),
            spawn(self._upkeep.run()),
            *(spawn(self.senders.run(i)) for i in range(self._c.concurrency)),
        ]

    async def stop(self, grace: float = 15.0) -> None:
        """Finish what is claimed (nothing new is claimed), record it, commit, stop. Records
        admitted but not claimed stay uncommitted: the next owner of their partition reads
        them again."""
        if not self._tasks:
            return
        self.intake.close()
        self._tasks[0].cancel()  # the claimer: nothing new becomes SENDING
        self._retries.stop()
        claiming = self.claimer.claiming
        if claiming is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(claiming), grace)
        self._upkeep.stop()
        self.dispatcher.park_all()  # what waits goes back to the ledger, unattempted
        deadline = time.monotonic() + grace
        # Polled: the drain ends on a combination of states, and only once, at shutdown.
        while time.monotonic() < deadline and self._busy():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self._commit_loop.stop()
        self.marker.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.commits.commit()

    def _busy(self) -> bool:
        return bool(
            len(self.dispatcher)
            or self.senders.busy
            or not self._outcomes.empty()
            or self.recorder.busy
        )

    async def _commit_step(self) -> None:
        await self.commits.commit()

    def _forget(self, tps: set[tuple[str, int]]) -> None:
        self.tracker.revoke(tps)
        self.claimer.forget(tps)


async def _forever(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Keeps a step alive: an unexpected error is logged and the step goes on."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery %s failed; restarting it", name)
            await asyncio.sleep(1.0)
