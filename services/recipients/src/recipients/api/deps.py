"""What a route needs: the caller with the role the route asks for, and the stores, the
clock and the limits of the service's ports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from recipients.ports import Clock, Customers, Groups, Importer
from recipients.textstream import Limits
from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.errors import Forbidden
from servicekit.http import port


def at_least(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """The caller, when their role is `role` or above; 403 otherwise (SPEC §11)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.at_least(role):
            raise Forbidden(
                "role", f"needs role {role} or above; this key's user is a {principal.role}"
            )
        return principal

    dependency.__name__ = f"at_least_{role}"
    return dependency


#: Reading customers, groups and suppressions is open to every member.
Reader = CurrentPrincipal
#: Creating, editing, importing and deleting customers and groups, setting owners, and
#: unsubscribing a customer on their behalf.
Manager = Annotated[Principal, Depends(at_least(Role.MANAGER))]
#: Lifting a suppression.
Admin = Annotated[Principal, Depends(at_least(Role.ADMIN))]

CustomersDep = Annotated[Customers, Depends(port("customers"))]
GroupsDep = Annotated[Groups, Depends(port("groups"))]
ImporterDep = Annotated[Importer, Depends(port("importer"))]
ClockDep = Annotated[Clock, Depends(port("clock"))]
ImportLimitsDep = Annotated[Limits, Depends(port("import_limits"))]
