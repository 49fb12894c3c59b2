"""What a route needs from the app: the stores that create_app put in state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from recipients.ports import Clock, Customers, Groups, Importer


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _customers(request: Request) -> Customers:
    customers: Customers = request.app.state.customers
    return customers


def _groups(request: Request) -> Groups:
    groups: Groups = request.app.state.groups
    return groups


def _importer(request: Request) -> Importer:
    importer: Importer = request.app.state.importer
    return importer


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


CustomersDep = Annotated[Customers, Depends(_customers)]
GroupsDep = Annotated[Groups, Depends(_groups)]
ImporterDep = Annotated[Importer, Depends(_importer)]
ClockDep = Annotated[Clock, Depends(_clock)]
