"""What a route needs from the app: the store and the clock that create_app put in state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from composer.ports import Clock, Store


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


StoreDep = Annotated[Store, Depends(_store)]
ClockDep = Annotated[Clock, Depends(_clock)]


#: Documents the bearer key in the OpenAPI document; `CurrentPrincipal` does the checking.
BEARER_DOC = Depends(HTTPBearer(auto_error=False, description="API key: `bm_<key id>_<secret>`"))
