"""What a route needs: the stores and the clock of the service's ports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from recipients.ports import Clock, Customers, Groups, Importer


def _customers(request: Request) -> Customers:
    customers: Customers = request.state.ports.customers
    return customers


def _groups(request: Request) -> Groups:
    groups: Groups = request.state.ports.groups
    return groups


def _importer(request: Request) -> Importer:
    importer: Importer = request.state.ports.importer
    return importer


def _clock(request: Request) -> Clock:
    clock: Clock = request.state.ports.clock
    return clock


CustomersDep = Annotated[Customers, Depends(_customers)]
GroupsDep = Annotated[Groups, Depends(_groups)]
ImporterDep = Annotated[Importer, Depends(_importer)]
ClockDep = Annotated[Clock, Depends(_clock)]
