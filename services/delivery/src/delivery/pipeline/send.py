"""Send: jobs in, outcomes out. One sender per SMTP connection; each takes the next job as
soon as it has one, and tells its session which mail follows so that it may announce it
early (pipelining)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from delivery.domain import Reply, Stage
from delivery.pipeline.items import Job, Outcome, Ready
from delivery.ports import Mailer

log = logging.getLogger(__name__)


class Senders:
    def __init__(self, mailer: Mailer, ready: Ready, out: asyncio.Queue[Outcome]) -> None:
        self._mailer = mailer
        self._ready = ready
        self._out = out
        #: Jobs taken from `ready` whose outcome is not on `out` yet.
        self.busy = 0

    async def run(self, index: int) -> None:
        session = self._mailer.session()
        job: Job | None = None
        try:
            while True:
                if job is None:
                    job = await self._ready.get()
                    self.busy += 1
                following = self._ready.get_nowait()
                if following is not None:
                    self.busy += 1
                try:
                    reply = await session.send(job.mail, following.mail if following else None)
                except Exception as exc:  # a session reports SMTP trouble as a Reply
                    log.exception("sender %d: unexpected error", index)
                    reply = Reply(Stage.END, None, f"unexpected: {exc!r}")
                self._out.put_nowait(Outcome(job, reply))
                self.busy -= 1
                job = following
        finally:
            with contextlib.suppress(Exception):
                await session.close()
