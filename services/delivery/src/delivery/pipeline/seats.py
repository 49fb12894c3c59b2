"""The concurrency slots this process's senders hold, shared with every delivery process
through the shaper: taken when a sender moves to a destination, kept a little while it
goes back and forth between destinations, renewed while held (a dead process's slots
lapse), and given back when its sender has nothing to do."""

from __future__ import annotations

from delivery.pipeline.lanes import Lane, Seat
from delivery.ports import Shaper

#: A scope whose slots were all taken is asked again after this many seconds.
SLOT_RECHECK = 0.2
#: A slot its seat has not sent with for this long goes back to the shared pool.
SLOT_IDLE = 2.0


class Seats:
    def __init__(self, shaper: Shaper, owner: str) -> None:
        self._shaper = shaper
        self._owner = owner
        self._seats: list[Seat] = []

    def seat(self, index: int) -> Seat:
        seat = Seat(f"{self._owner}#{index}")
        self._seats.append(seat)
        return seat

    async def sit(self, seat: Seat, lane: Lane, now: float) -> bool:
        """`seat` sends to `lane` from now on, if it holds or gets one of its slots."""
        if lane.scope not in seat.held and not await self._shaper.acquire(
            lane.scope, seat.holder, lane.limits.connections
        ):
            lane.slots_until = now + SLOT_RECHECK
            return False
        seat.held[lane.scope] = (lane, now)
        if seat.lane is not lane:
            stand_up(seat)
            seat.lane = lane
            lane.senders += 1
        return True

    async def leave(self, seat: Seat) -> None:
        """A sender stops, or has nothing to send: every slot it holds goes back."""
        stand_up(seat)
        held, seat.held = seat.held, {}
        for scope in held:
            await self._shaper.release(scope, seat.holder)

    async def release_idle(self, now: float) -> None:
        for seat in self._seats:
            idle = [
                scope
                for scope, (lane, used) in seat.held.items()
                if lane is not seat.lane and now - used > SLOT_IDLE
            ]
            for scope in idle:
                del seat.held[scope]
                await self._shaper.release(scope, seat.holder)

    async def renew(self) -> None:
        held = [
            (seat, scope, lane) for seat in self._seats for scope, (lane, _) in seat.held.items()
        ]
        lost = await self._shaper.renew(
            [(scope, seat.holder, lane.limits.connections) for seat, scope, lane in held]
        )
        for index in lost:
            seat, scope, lane = held[index]
            seat.held.pop(scope, None)
            if seat.lane is lane:
                stand_up(seat)

    def held_scopes(self) -> set[str]:
        return {scope for seat in self._seats for scope in seat.held}


def stand_up(seat: Seat) -> None:
    """The seat no longer sends to its lane (it may still hold the slot a while)."""
    if seat.lane is not None:
        seat.lane.senders -= 1
        seat.lane = None
