"""What a route needs from the service's ports, and the caller's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPBearer

from composer.ports import Audience, Clock, Store
from composer.previews import Asking, Previewer
from servicekit.auth import CurrentPrincipal, bearer
from servicekit.http import port

StoreDep = Annotated[Store, Depends(port("store"))]
ClockDep = Annotated[Clock, Depends(port("clock"))]
PreviewerDep = Annotated[Previewer, Depends(port("previewer"))]


def asking(
    actor: CurrentPrincipal,
    api_key: Annotated[str, Depends(bearer)],
    store: StoreDep,
    audience: Annotated[Audience, Depends(port("audience"))],
    clock: ClockDep,
) -> Asking:
    """The caller, with their own key for the calls made on their behalf."""
    return Asking(actor, api_key, store, audience, clock)


AskingDep = Annotated[Asking, Depends(asking)]

#: Documents the bearer key in the OpenAPI document; `CurrentPrincipal` does the checking.
BEARER_DOC = Depends(HTTPBearer(auto_error=False, description="API key: `bm_<key id>_<secret>`"))
