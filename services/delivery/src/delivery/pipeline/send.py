"""Send: jobs in, outcomes out. One sender per SMTP connection; each takes from the
dispatcher the next job whose destination has room, connects where the job's route says
(the relay, or the domain's mail exchangers), and tells its session which mail follows
so that it may announce it early (pipelining). Each job's DATA marker is asked for as
soon as the sender has it; the session waits for it right before the content.

What an answer means for the destination (a breaker, a slow-down, a storm) is the
dispatcher's to judge; a job it takes back never reaches the recorder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from delivery.bounces import Reply, Stage, Verdict, classify
from delivery.pipeline.dispatch import Dispatcher
from delivery.pipeline.items import Job, Outcome
from delivery.pipeline.lanes import Seat
from delivery.pipeline.mark import Marker
from delivery.ports import Mailer, MailSession, Route, Router, Transaction

log = logging.getLogger(__name__)

#: Answers after which the connection is gone, so an announced follower never went out.
DROPPED = (Verdict.UNREACHABLE, Verdict.THROTTLED)


class Senders:
    def __init__(
        self,
        mailer: Mailer,
        router: Router,
        dispatcher: Dispatcher,
        marker: Marker,
        out: asyncio.Queue[Outcome],
    ) -> None:
        self._mailer, self._router = mailer, router
        self._dispatcher, self._marker, self._out = dispatcher, marker, out
        #: Jobs taken from the dispatcher whose outcome is not on `out` (or back) yet.
        self.busy = 0

    async def run(self, index: int) -> None:
        seat = self._dispatcher.seat(index)
        session: MailSession | None = None
        route: Route | None = None
        job: Job | None = None
        try:
            while True:
                if job is None:
                    job = await self._dispatcher.take(seat)
                    self.busy += 1
                found = await self._router.route(job.domain)
                if isinstance(found, Reply):  # no route: that is the answer
                    await self._answered(job, found)
                    job = None
                    continue
                if found != route or session is None:
                    if session is not None:
                        await _close(session)
                    session, route = self._mailer.session(found), found
                job = await self._transaction(seat, session, job)
        finally:
            if session is not None:
                await _close(session)
            with contextlib.suppress(Exception):
                await self._dispatcher.leave(seat)

    async def _transaction(self, seat: Seat, session: MailSession, job: Job) -> Job | None:
        """Send `job`; returns the job announced behind it, which goes next."""
        self._marker.mark(job)
        following = self._dispatcher.take_following(seat, job)
        if following is not None:
            self.busy += 1
            self._marker.mark(following)
        try:
            reply = await session.send(
                Transaction(job.mail, following.mail if following else None, job.mark)
            )
        except Exception as exc:  # a session reports SMTP trouble as a Reply
            log.exception("sender: unexpected error")
            reply = Reply(Stage.END, None, f"unexpected: {exc!r}")
        verdict = await self._answered(job, reply)
        if following is not None and verdict in DROPPED:
            self._dispatcher.give_back(following)
            self.busy -= 1
            return None
        return following

    async def _answered(self, job: Job, reply: Reply) -> Verdict:
        verdict = classify(reply)
        if _withdrawn(job, reply):
            self._dispatcher.withdrawn(job)
            record = True
        else:
            record = await self._dispatcher.answered(job, reply, verdict)
        if record:
            self._out.put_nowait(Outcome(job, reply))
        self.busy -= 1
        return verdict


def _withdrawn(job: Job, reply: Reply) -> bool:
    """The session stopped before the content because the marker was not written (the
    ledger refused it, or could not be reached): nothing about the route."""
    if reply.code is not None or reply.stage is not Stage.DATA or job.mark is None:
        return False
    return not (job.mark.done() and job.mark.result())


async def _close(session: MailSession) -> None:
    with contextlib.suppress(Exception):
        await session.close()
