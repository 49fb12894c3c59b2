"""What a route needs from the service's ports, and the caller's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPBearer

from composer.ports import Audience, Clock, Store
from composer.previews import Previewer
from servicekit.auth import bearer
from servicekit.http import port

StoreDep = Annotated[Store, Depends(port("store"))]
ClockDep = Annotated[Clock, Depends(port("clock"))]
AudienceDep = Annotated[Audience, Depends(port("audience"))]
PreviewerDep = Annotated[Previewer, Depends(port("previewer"))]
#: The caller's own key, for calls made on the caller's behalf.
ApiKey = Annotated[str, Depends(bearer)]

#: Documents the bearer key in the OpenAPI document; `CurrentPrincipal` does the checking.
BEARER_DOC = Depends(HTTPBearer(auto_error=False, description="API key: `bm_<key id>_<secret>`"))
