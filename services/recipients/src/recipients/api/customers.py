"""Customers (顧客情報): create, read, edit, delete, unsubscribe, bulk import."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from recipients.api.deps import (
    ClockDep,
    CustomersDep,
    ImporterDep,
    ImportLimitsDep,
    Manager,
    OwnersDep,
    Reader,
)
from recipients.api.errors import ERROR_RESPONSES, IMPORT_ERROR_RESPONSES
from recipients.api.models import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    ImportReportOut,
)
from recipients.customers import CustomerInput, checked, patched
from recipients.imports import customer_rows
from recipients.media import parse_content_type
from recipients.ports import ImportRules
from servicekit.errors import FieldError, Invalid

router = APIRouter(prefix="/v1/customers", tags=["customers"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
After = Annotated[UUID | None, Query(description="`next_after` of the previous page.")]

FILE_RULES = (
    " UTF-8 (a byte order mark is allowed) unless the Content-Type names Shift_JIS (read as "
    "CP932), CP932 or EUC-JP, e.g. `text/csv; charset=shift_jis`; other charsets are refused "
    "(415). Lines, and CSV records that span lines, are limited in bytes (422 naming the "
    "line); so are the body and the number of rows (413)."
)
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with a header line (columns email, last_name, first_name, "
        "company, owner_user_id, attr.<key>; only email is required) or NDJSON (one object "
        "per line with the same fields, custom attributes under `attributes`)." + FILE_RULES,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "",
    status_code=201,
    summary="Add a customer",
    description="An owner (`owner_user_id`) must be a user of the tenant (422 otherwise).",
)
async def create_customer(
    body: CustomerIn, principal: Manager, customers: CustomersDep, owners: OwnersDep
) -> CustomerOut:
    customer = checked(CustomerInput(**body.model_dump()))
    await owners.check(customer.owner_user_id)
    return CustomerOut.model_validate(await customers.create(principal.tenant_id, customer))


@router.get(
    "",
    summary="List customers",
    description="Pages in id order. `email` finds the customer with that address (any case); "
    "`group_id` lists the members of a group; `q` finds customers whose address, name or "
    "company contains it (any case).",
)
async def list_customers(
    principal: Reader,
    customers: CustomersDep,
    after: After = None,
    limit: Limit = 100,
    email: Annotated[str | None, Query(description="Exact address, any case.")] = None,
    group_id: Annotated[UUID | None, Query(description="Only members of this group.")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Part of the address, a name or the company."),
    ] = None,
) -> CustomerPage:
    if email is not None:
        found = await customers.find_by_email(principal.tenant_id, email.strip())
        return CustomerPage(
            items=[CustomerOut.model_validate(found)] if found else [], next_after=None
        )
    if q and q.strip() and group_id is None:
        found_page = await customers.search(
            principal.tenant_id, q.strip(), after=after, limit=limit
        )
        return CustomerPage.of(found_page, limit)
    page = await customers.page(principal.tenant_id, after=after, limit=limit, group_id=group_id)
    return CustomerPage.of(page, limit)


@router.get("/{customer_id}", summary="Read a customer, with its unsubscribe and bounce state")
async def get_customer(
    customer_id: UUID, principal: Reader, customers: CustomersDep
) -> CustomerOut:
    return CustomerOut.model_validate(await customers.get(principal.tenant_id, customer_id))


@router.patch(
    "/{customer_id}",
    summary="Edit a customer",
    description="Only the fields present change; `attributes` is replaced as a whole; "
    "`owner_user_id: null` removes the owner. A new address clears the bounce registration "
    "(it belonged to the old address); an unsubscribe stays. An owner must be a user of the "
    "tenant (422 otherwise).",
)
async def update_customer(
    customer_id: UUID,
    body: CustomerPatch,
    principal: Manager,
    customers: CustomersDep,
    owners: OwnersDep,
) -> CustomerOut:
    changes = _changes(body)
    await owners.check(changes.get("owner_user_id"))
    updated = await customers.update(
        principal.tenant_id, customer_id, lambda current: patched(current, changes)
    )
    return CustomerOut.model_validate(updated)


@router.delete("/{customer_id}", status_code=204, summary="Delete a customer")
async def delete_customer(
    customer_id: UUID, principal: Manager, customers: CustomersDep
) -> Response:
    await customers.delete(principal.tenant_id, customer_id)
    return Response(status_code=204)


@router.post(
    "/{customer_id}/unsubscribe",
    summary="Unsubscribe a customer (配信停止) on the customer's behalf",
    description="The customer is left out of every later bulk mail; individual mail stays "
    "possible. Publishes `Unsubscribed` (method `api`) the first time; repeating it changes "
    "nothing.",
)
async def unsubscribe_customer(
    customer_id: UUID, principal: Manager, customers: CustomersDep, clock: ClockDep
) -> CustomerOut:
    return CustomerOut.model_validate(
        await customers.unsubscribe(principal.tenant_id, customer_id, clock.now())
    )


@router.post(
    "/import",
    summary="Import customers from CSV or NDJSON",
    description="All or nothing: a file that cannot be read imports nothing (422 with the "
    "line). Rows with an invalid address, an owner that is no user of the tenant, over-long "
    "values, or an address that repeats an earlier line are rejected and reported; the "
    "others are imported. An address that is a customer already is rejected as a "
    "duplicate, or updated with `on_existing=update` (columns the file has; attributes "
    "merged).",
    openapi_extra=IMPORT_BODY,
    responses=IMPORT_ERROR_RESPONSES,
)
async def import_customers(
    request: Request,
    principal: Manager,
    importer: ImporterDep,
    limits: ImportLimitsDep,
    owners: OwnersDep,
    on_existing: Literal["reject", "update"] = "reject",
) -> ImportReportOut:
    fmt, charset = parse_content_type(request.headers.get("content-type", ""))
    rows = customer_rows(request.stream(), fmt, charset, limits)
    rules = ImportRules(update_existing=on_existing == "update", unknown_owners=owners.unknown)
    report = await importer.import_customers(principal.tenant_id, rows, rules)
    return ImportReportOut.of(fmt.value, report)


def _changes(body: CustomerPatch) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    nulls = [name for name, value in changes.items() if value is None and name != "owner_user_id"]
    if nulls:
        raise Invalid(FieldError(name, "must not be null") for name in nulls)
    return changes
