"""Customer groups (顧客グループ) and their members."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from recipients.api.customers import FILE_RULES, IMPORT_BODY, After, Limit
from recipients.api.deps import (
    CustomersDep,
    GroupsDep,
    ImporterDep,
    ImportLimitsDep,
    Manager,
    Reader,
)
from recipients.api.errors import ERROR_RESPONSES, IMPORT_ERROR_RESPONSES
from recipients.api.models import (
    CustomerPage,
    GroupCheckIn,
    GroupCheckOut,
    GroupIn,
    GroupOut,
    GroupPage,
    GroupPatch,
    ImportReportOut,
    MembersAdded,
    MembersIn,
)
from recipients.customers import check_group_name
from recipients.imports import member_rows
from recipients.media import parse_content_type
from servicekit.errors import NotFound

router = APIRouter(prefix="/v1/groups", tags=["groups"], responses=ERROR_RESPONSES)


@router.post("", status_code=201, summary="Create a group")
async def create_group(body: GroupIn, principal: Manager, groups: GroupsDep) -> GroupOut:
    name = check_group_name(body.name)
    return GroupOut.model_validate(await groups.create(principal.tenant_id, name, body.description))


@router.get("", summary="List groups", description="Pages in id order.")
async def list_groups(
    principal: Reader, groups: GroupsDep, after: After = None, limit: Limit = 100
) -> GroupPage:
    page = await groups.page(principal.tenant_id, after=after, limit=limit)
    return GroupPage.of(page, limit)


@router.post(
    "/check",
    summary="Which ids are no groups of the tenant",
    description="For services that keep group references (the composer's campaigns): "
    "another tenant's group is as unknown as a missing one.",
)
async def check_groups(body: GroupCheckIn, principal: Reader, groups: GroupsDep) -> GroupCheckOut:
    return GroupCheckOut(unknown=await groups.unknown(principal.tenant_id, body.group_ids))


@router.get("/{group_id}", summary="Read a group, with its number of members")
async def get_group(group_id: UUID, principal: Reader, groups: GroupsDep) -> GroupOut:
    return GroupOut.model_validate(await groups.get(principal.tenant_id, group_id))


@router.patch("/{group_id}", summary="Rename or describe a group")
async def update_group(
    group_id: UUID, body: GroupPatch, principal: Manager, groups: GroupsDep
) -> GroupOut:
    current = await groups.get(principal.tenant_id, group_id)
    name = check_group_name(body.name) if body.name is not None else current.name
    description = body.description if body.description is not None else current.description
    return GroupOut.model_validate(
        await groups.update(principal.tenant_id, group_id, name, description)
    )


@router.delete(
    "/{group_id}", status_code=204, summary="Delete a group", description="Customers stay."
)
async def delete_group(group_id: UUID, principal: Manager, groups: GroupsDep) -> Response:
    await groups.delete(principal.tenant_id, group_id)
    return Response(status_code=204)


@router.get(
    "/{group_id}/members", summary="List a group's members", description="Pages in id order."
)
async def list_members(
    group_id: UUID,
    principal: Reader,
    customers: CustomersDep,
    after: After = None,
    limit: Limit = 100,
) -> CustomerPage:
    page = await customers.page(principal.tenant_id, after=after, limit=limit, group_id=group_id)
    return CustomerPage.of(page, limit)


@router.post(
    "/{group_id}/members",
    summary="Add customers to a group",
    description="Ids of customers already in the group are counted, unknown ids listed; "
    "neither is an error.",
)
async def add_members(
    group_id: UUID, body: MembersIn, principal: Manager, groups: GroupsDep
) -> MembersAdded:
    added, unknown = await groups.add_members(principal.tenant_id, group_id, body.customer_ids)
    already = len(set(body.customer_ids)) - len(added) - len(unknown)
    return MembersAdded(added=added, already_members=already, unknown=unknown)


@router.put(
    "/{group_id}/members/{customer_id}", status_code=204, summary="Add one customer to a group"
)
async def add_member(
    group_id: UUID, customer_id: UUID, principal: Manager, groups: GroupsDep
) -> Response:
    _, unknown = await groups.add_members(principal.tenant_id, group_id, [customer_id])
    if unknown:
        raise NotFound("customer")
    return Response(status_code=204)


@router.delete(
    "/{group_id}/members/{customer_id}",
    status_code=204,
    summary="Remove a customer from a group",
)
async def remove_member(
    group_id: UUID, customer_id: UUID, principal: Manager, groups: GroupsDep
) -> Response:
    await groups.remove_member(principal.tenant_id, group_id, customer_id)
    return Response(status_code=204)


@router.post(
    "/{group_id}/members/import",
    summary="Import memberships from CSV or NDJSON",
    description="Each row names a customer by `customer_id` or by `email`. All or nothing "
    "for unreadable files (422 with the line); rows naming no customer of the tenant, "
    "malformed ids or addresses, and repeats are rejected and reported. Customers already "
    "in the group are counted as unchanged.",
    openapi_extra={
        "requestBody": {
            **IMPORT_BODY["requestBody"],
            "description": "CSV with a header line (customer_id and/or email) or NDJSON "
            '(`{"customer_id": "…"}` or `{"email": "…"}` per line).' + FILE_RULES,
        }
    },
    responses=IMPORT_ERROR_RESPONSES,
)
async def import_members(
    group_id: UUID,
    request: Request,
    principal: Manager,
    importer: ImporterDep,
    limits: ImportLimitsDep,
) -> ImportReportOut:
    fmt, charset = parse_content_type(request.headers.get("content-type", ""))
    rows = member_rows(request.stream(), fmt, charset, limits)
    report = await importer.import_members(principal.tenant_id, group_id, rows)
    return ImportReportOut.of(fmt.value, report)
