"""What a route needs: the caller with the role the route asks for, and the stores, the
clock and the limits of the service's ports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from recipients.ports import Clock, Customers, Groups, Importer, Staff, Suppressions
from recipients.textstream import Limits
from servicekit.auth import CurrentPrincipal, Principal, Role, bearer
from servicekit.errors import Forbidden, Invalid
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
StaffDep = Annotated[Staff, Depends(port("staff"))]


@dataclass(frozen=True)
class Owners:
    """Owners (担当者) must be users of the caller's tenant: the composer is asked with the
    caller's own key, so it can never confirm another tenant's user."""

    staff: Staff
    api_key: str
    tenant_id: UUID

    async def unknown(self, user_ids: Collection[UUID]) -> set[UUID]:
        return await self.staff.unknown(self.api_key, self.tenant_id, user_ids)

    async def check(self, owner_user_id: UUID | None) -> None:
        if owner_user_id is not None and await self.unknown([owner_user_id]):
            raise Invalid.one("owner_user_id", "not a user of this tenant")


def _owners(request: Request, principal: Manager, staff: StaffDep) -> Owners:
    return Owners(staff, bearer(request), principal.tenant_id)


OwnersDep = Annotated[Owners, Depends(_owners)]
SuppressionsDep = Annotated[Suppressions, Depends(port("suppressions"))]
