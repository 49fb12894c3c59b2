"""What a route needs: the store and the clock of the service's ports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from composer.ports import Clock, Store


def _store(request: Request) -> Store:
    store: Store = request.state.ports.store
    return store


def _clock(request: Request) -> Clock:
    clock: Clock = request.state.ports.clock
    return clock


StoreDep = Annotated[Store, Depends(_store)]
ClockDep = Annotated[Clock, Depends(_clock)]


#: Documents the bearer key in the OpenAPI document; `CurrentPrincipal` does the checking.
BEARER_DOC = Depends(HTTPBearer(auto_error=False, description="API key: `bm_<key id>_<secret>`"))
