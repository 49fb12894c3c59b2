"""What a route needs: the stores and the clock of the service's ports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from recipients.ports import Clock, Customers, Groups, Importer
from recipients.textstream import Limits
from servicekit.http import port

CustomersDep = Annotated[Customers, Depends(port("customers"))]
GroupsDep = Annotated[Groups, Depends(port("groups"))]
ImporterDep = Annotated[Importer, Depends(port("importer"))]
ClockDep = Annotated[Clock, Depends(port("clock"))]
ImportLimitsDep = Annotated[Limits, Depends(port("import_limits"))]
