"""Dispatch: the hand-off from the claimer and the retrier to the senders, one queue per
destination (per shaping scope), so that a paused or slow destination never holds up
the others.

- A sender takes the next job whose destination has room: a concurrency slot (shared by
  every process, kept while the sender goes on with the same destination), a token of
  its rate (leased a few at a time), and breakers that let it through. Jobs of a
  destination without room wait in its queue; no sender waits for them.
- The claimer claims while fewer than a chunk of jobs wait for destinations that can take
  them (`room`); a destination without room counts only as far as it can take jobs
  soon. Its new messages are deferred in the ledger at claim time (`defer_for`), and
  jobs that would wait long are parked there (`maintain`), without spending an attempt.
- Answers feed back (`answered`): a connection failure counts for the breaker of the
  relay (of the destination, delivering directly) and the job goes back unattempted; a
  throttling answer slows the destination down; a storm of identical refusals pauses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from contracts import RecipientResolved
from delivery.bounces import Reply, Verdict, refusal_key
from delivery.pipeline.items import Job, Outcome
from delivery.pipeline.lanes import (
    LEASE_SECONDS,
    Health,
    Healths,
    Lane,
    Seat,
    domain_of,
    preference,
    spread,
)
from delivery.pipeline.seats import Seats, stand_up
from delivery.ports import Shaper
from delivery.shaping.breaker import Breaker, BreakerState, StormDetector
from delivery.shaping.config import Shaping

#: Times a job may go back to its queue unattempted for a reason of its own (an isolated
#: connection failure, a throttle) before such an answer counts as a temporary failure.
MAX_FREE_REQUEUES = 10
#: A lane idle this long (and holding nothing) is forgotten.
LANE_IDLE = 600.0


class Dispatcher:
    def __init__(
        self,
        shaping: Shaping,
        shaper: Shaper,
        parked: asyncio.Queue[Outcome],
        *,
        owner: str,
        chunk: int,
        direct: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shaping, self._shaper, self._parked = shaping, shaper, parked
        self._owner, self._chunk, self._direct, self._clock = owner, chunk, direct, clock
        self._lanes: dict[str, Lane] = {}
        #: Lanes with jobs waiting: what picking and counting look at.
        self._active: dict[str, Lane] = {}
        self._used: dict[str, float] = {}
        self._seats = Seats(shaper, owner)
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._room = asyncio.Event()
        self._renewed = clock()
        #: The relay's breaker (unused when delivering directly: destinations have theirs).
        self.relay = Breaker(shaping.breaker, clock)
        self.healths = Healths(
            lambda: Health(Breaker(shaping.breaker, clock), StormDetector(shaping.storm, clock))
        )

    # ------------------------------------------------------------------ producers

    def lane_of(self, event: RecipientResolved) -> Lane:
        destination = self._shaping.destination(domain_of(event.email))
        limits = self._shaping.limits(event.tenant_id, destination)
        lane = self._lanes.get(limits.scope)
        if lane is None:
            lane = self._lanes[limits.scope] = Lane(limits.scope, destination, limits)
        return lane

    def put(self, job: Job) -> None:
        lane = self.lane_of(job.event)
        job.domain, job.scope = domain_of(job.event.email), lane.scope
        self._push(lane, job)

    def defer_for(self, event: RecipientResolved) -> float | None:
        """Seconds a new message for this destination would wait, when that is too long
        to keep it in memory (None: take it)."""
        lane, now = self.lane_of(event), self._clock()
        wait = lane.wait(len(lane.queue), self._pause(lane), now)
        if wait > self._shaping.queue.park_after_seconds or len(lane.queue) >= 4 * self._chunk:
            return spread(wait)
        return None

    def room(self) -> int:
        """How many more jobs the claimer and the retrier may hand over now."""
        if not self._direct and not self.relay.allows():
            return 0
        now = self._clock()
        return self._chunk - sum(self._counted(lane, now) for lane in self._active.values())

    async def wait_room(self) -> None:
        while self.room() <= 0:
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), 0.25)

    def __len__(self) -> int:
        return sum(len(lane.queue) for lane in self._active.values())

    # ------------------------------------------------------------------ senders

    def seat(self, index: int) -> Seat:
        return self._seats.seat(index)

    async def take(self, seat: Seat) -> Job:
        """The next job whose destination has room, with a slot and a token for `seat`."""
        while True:
            self._changed.clear()
            async with self._lock:
                job = await self._pick(seat)
            if job is not None:
                self._room.set()
                if self._sendable():
                    self._changed.set()  # more for the other senders
                return job
            await self.leave(seat)  # nothing to do: its slots are of use elsewhere
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self._next_check())

    def take_following(self, seat: Seat, job: Job) -> Job | None:
        """A job to announce behind `job` on the same connection, only if it can go at
        once: same scope (and domain, delivering directly), closed breakers, a token."""
        lane, now = seat.lane, self._clock()
        if lane is None or lane.scope != job.scope or not lane.queue:
            return None
        if self.healths.of(lane.destination).breaker.state is not BreakerState.CLOSED:
            return None
        if not self._direct and self.relay.state is not BreakerState.CLOSED:
            return None
        if self._direct and lane.queue[0].domain != job.domain:
            return None
        if lane.usable_tokens(now) > 0:
            lane.tokens -= 1
        elif not lane.unlimited(now):
            return None
        self._room.set()
        return self._pop(lane)

    def withdrawn(self, job: Job) -> None:
        """A job that was not sent for a reason of our own: any probe it was is over."""
        self.relay.abandon()
        self.healths.of(self._lanes[job.scope].destination).breaker.abandon()

    def give_back(self, job: Job) -> None:
        """A job that never went out (its connection dropped before it): first in line."""
        self._push(self._lanes[job.scope], job, first=True)

    async def answered(self, job: Job, reply: Reply, verdict: Verdict) -> bool:
        """What an answer means for the destination; True when the job's outcome is to
        be recorded, False when it went back to its queue unattempted."""
        lane = self._lanes[job.scope]
        health = self.healths.of(lane.destination)
        route = health.breaker if self._direct else self.relay
        if verdict is Verdict.UNREACHABLE:
            was_closed = route.state is BreakerState.CLOSED
            if route.failed() and self._direct:
                health.tripped_by = None  # paused for its connections, not for a refusal
            # Only a failure while the route otherwise works may be this message's own doing.
            isolated = was_closed and route.state is BreakerState.CLOSED
            return not self._requeue(job, counts=isolated)
        storm_paused = self._direct and health.tripped_by is not None
        if route.state is not BreakerState.OPEN and not storm_paused:
            route.succeeded()  # it answered: the connection works
        now = self._clock()
        if verdict is Verdict.THROTTLED:
            observed = lane.throughput(now) * 60
            lane.per_minute = await self._shaper.slow_down(
                lane.scope, lane.limits.per_minute, observed
            )
            lane.tokens, lane.rate_checked = 0, now
            return not self._requeue(job, counts=True)
        lane.finished(now)
        refusal = refusal_key(reply) if verdict in (Verdict.HARD, Verdict.BLOCKED) else None
        return not self._storm(health, job, refusal)

    async def leave(self, seat: Seat) -> None:
        """A sender stops, or has nothing to send: every slot it holds goes back."""
        await self._seats.leave(seat)

    # ------------------------------------------------------------------ upkeep

    async def maintain(self) -> None:
        """Park what would wait too long, give back idle slots, renew the others, forget
        idle lanes, and wake the senders for what time alone changes (a breaker's pause
        ending, tokens coming back)."""
        now = self._clock()
        for lane in list(self._active.values()):
            self._park(lane, now)
        await self._seats.release_idle(now)
        if now - self._renewed >= self._shaping.queue.slot_ttl_seconds / 3:
            self._renewed = now
            await self._seats.renew()
            self._forget_idle(now)
        self._changed.set()
        self._room.set()

    def park_all(self) -> None:
        """Shutting down: every queued job goes back to the ledger, due at once."""
        for lane in list(self._active.values()):
            while lane.queue:
                job = self._pop(lane, last=True)
                self._parked.put_nowait(Outcome(job, None, 0.0, "shutting down"))

    # ------------------------------------------------------------------ picking

    async def _pick(self, seat: Seat) -> Job | None:
        now = self._clock()
        if not self._direct and not self.relay.allows():
            return None
        candidates = [
            lane
            for lane in self._active.values()
            if lane.blocked_until <= now
            and (lane.scope in seat.held or lane.slots_until <= now)
            and self.healths.of(lane.destination).breaker.allows()
        ]
        for lane in preference(seat, candidates):
            if not await self._seats.sit(seat, lane, now):
                continue
            if not await self._token(lane, now) or not lane.queue:
                stand_up(seat)  # (a following may have emptied the queue meanwhile)
                continue
            if not self._direct:
                self.relay.started()
            self.healths.of(lane.destination).breaker.started()
            return self._pop(lane)
        return None

    async def _token(self, lane: Lane, now: float) -> bool:
        if lane.usable_tokens(now) > 0:
            lane.tokens -= 1
            return True
        if lane.unlimited(now):
            return True
        grant = await self._shaper.take(lane.scope, lane.wanted(), lane.limits.per_minute)
        lane.per_minute, lane.rate_checked = grant.per_minute, now
        if grant.granted <= 0:
            lane.blocked_until = now + max(grant.wait, 1e-3)
            return False
        lane.tokens, lane.tokens_until = grant.granted - 1, now + LEASE_SECONDS
        return True

    # ------------------------------------------------------------------ lanes

    def _forget_idle(self, now: float) -> None:
        held = self._seats.held_scopes()
        for scope in [s for s, used in self._used.items() if now - used > LANE_IDLE]:
            if scope not in held and scope not in self._active:
                self._lanes.pop(scope, None)
                del self._used[scope]

    def _push(self, lane: Lane, job: Job, *, first: bool = False) -> None:
        if first:
            lane.queue.appendleft(job)
        else:
            lane.queue.append(job)
        self._active[lane.scope] = lane
        self._used[lane.scope] = self._clock()
        self._changed.set()

    def _pop(self, lane: Lane, *, last: bool = False) -> Job:
        job = lane.queue.pop() if last else lane.queue.popleft()
        if not lane.queue:
            self._active.pop(lane.scope, None)
            lane.drained()
        return job

    # ------------------------------------------------------------------ feedback

    def _storm(self, health: Health, job: Job, refusal: str | None) -> bool:
        """Feeds the storm detector; True when the job went back to its queue because its
        refusal is (part of) a storm rather than about its address."""
        breaker = health.breaker
        paused = breaker.state is not BreakerState.CLOSED
        if paused and refusal is not None and refusal == health.tripped_by:
            if breaker.state is BreakerState.HALF_OPEN:
                breaker.failed()  # the probe met the same refusal: pause longer
            return self._requeue(job, counts=False)
        if breaker.state is BreakerState.HALF_OPEN and health.tripped_by is not None:
            breaker.succeeded()
            health.tripped_by = None
        if health.storms.answered(refusal):
            breaker.trip()
            health.tripped_by = refusal
            return self._requeue(job, counts=False)
        return False

    def _requeue(self, job: Job, *, counts: bool) -> bool:
        if counts:
            job.requeues += 1
            if job.requeues > MAX_FREE_REQUEUES:
                return False
        self.give_back(job)
        return True

    def _park(self, lane: Lane, now: float) -> None:
        after = self._shaping.queue.park_after_seconds
        pause = self._pause(lane)
        while lane.queue and lane.wait(len(lane.queue) - 1, pause, now) > after:
            job = self._pop(lane, last=True)
            wait = spread(lane.wait(len(lane.queue), pause, now))
            self._parked.put_nowait(Outcome(job, None, wait, f"waiting for {lane.destination}"))

    def _pause(self, lane: Lane) -> float:
        own = self.healths.of(lane.destination).breaker.waiting()
        return own if self._direct else max(own, self.relay.waiting())

    def _counted(self, lane: Lane, now: float) -> int:
        """Jobs of a lane that count against the claimer's room: all of them while this
        process sends to it (its backlog is backpressure), none while it is paused, waits
        for tokens, or waits with no sender here for slots other processes hold: the
        claimer goes on for the other destinations, and defers this one's new messages
        once they would wait too long."""
        if self._pause(lane) > 0 or lane.blocked_until > now:
            return 0
        if lane.senders == 0 and lane.slots_until > now:
            return 0
        return len(lane.queue)

    def _sendable(self) -> bool:
        now = self._clock()
        return any(
            max(lane.blocked_until, lane.slots_until) <= now for lane in self._active.values()
        )

    def _next_check(self) -> float:
        now = self._clock()
        times = [max(lane.blocked_until, lane.slots_until) - now for lane in self._active.values()]
        return min([0.25, *(t for t in times if t > 0)])
