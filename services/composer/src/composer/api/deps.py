"""What a route needs: the store and the clock of the service's ports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPBearer

from composer.ports import Clock, Store
from servicekit.http import port

StoreDep = Annotated[Store, Depends(port("store"))]
ClockDep = Annotated[Clock, Depends(port("clock"))]

#: Documents the bearer key in the OpenAPI document; `CurrentPrincipal` does the checking.
BEARER_DOC = Depends(HTTPBearer(auto_error=False, description="API key: `bm_<key id>_<secret>`"))
