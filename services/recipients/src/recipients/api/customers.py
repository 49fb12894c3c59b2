"""Customers (顧客情報): create, read, edit, delete, unsubscribe, bulk import."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from recipients.api.deps import ClockDep, CustomersDep, ImporterDep
from recipients.api.errors import ERROR_RESPONSES, IMPORT_ERROR_RESPONSES
from recipients.api.models import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    ImportReportOut,
)
from recipients.customers import Customer, CustomerInput, checked, patched
from recipients.imports import customer_rows, parse_content_type
from servicekit.auth import CurrentPrincipal
from servicekit.errors import FieldError, Invalid

router = APIRouter(prefix="/v1/customers", tags=["customers"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
After = Annotated[UUID | None, Query(description="`next_after` of the previous page.")]

IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with a header line (columns email, last_name, first_name, "
        "company, owner_user_id, attr.<key>; only email is required) or NDJSON (one object "
        "per line with the same fields, custom attributes under `attributes`). UTF-8 unless "
        "the Content-Type names another charset, e.g. `text/csv; charset=shift_jis`.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post("", status_code=201, summary="Add a customer")
async def create_customer(
    body: CustomerIn, principal: CurrentPrincipal, customers: CustomersDep
) -> CustomerOut:
    customer = checked(CustomerInput(**body.model_dump()))
    return CustomerOut.of(await customers.create(principal.tenant_id, customer))


@router.get(
    "",
    summary="List customers",
    description="Pages in id order. `email` finds the customer with that address (any case); "
    "`group_id` lists the members of a group; `q` finds customers whose address, name or "
    "company contains it (any case).",
)
async def list_customers(
    principal: CurrentPrincipal,
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
        return CustomerPage(items=[CustomerOut.of(found)] if found else [], next_after=None)
    if q and q.strip() and group_id is None:
        found_page = await customers.search(
            principal.tenant_id, q.strip(), after=after, limit=limit
        )
        return customer_page(found_page, limit)
    page = await customers.page(principal.tenant_id, after=after, limit=limit, group_id=group_id)
    return customer_page(page, limit)


@router.get("/{customer_id}", summary="Read a customer, with its unsubscribe and bounce state")
async def get_customer(
    customer_id: UUID, principal: CurrentPrincipal, customers: CustomersDep
) -> CustomerOut:
    return CustomerOut.of(await customers.get(principal.tenant_id, customer_id))


@router.patch(
    "/{customer_id}",
    summary="Edit a customer",
    description="Only the fields present change; `attributes` is replaced as a whole; "
    "`owner_user_id: null` removes the owner. A new address clears the bounce registration "
    "(it belonged to the old address); an unsubscribe stays.",
)
async def update_customer(
    customer_id: UUID, body: CustomerPatch, principal: CurrentPrincipal, customers: CustomersDep
) -> CustomerOut:
    changes = _changes(body)
    updated = await customers.update(
        principal.tenant_id, customer_id, lambda current: patched(current, changes)
    )
    return CustomerOut.of(updated)


@router.delete("/{customer_id}", status_code=204, summary="Delete a customer")
async def delete_customer(
    customer_id: UUID, principal: CurrentPrincipal, customers: CustomersDep
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
    customer_id: UUID, principal: CurrentPrincipal, customers: CustomersDep, clock: ClockDep
) -> CustomerOut:
    return CustomerOut.of(
        await customers.unsubscribe(principal.tenant_id, customer_id, clock.now())
    )


@router.post(
    "/import",
    summary="Import customers from CSV or NDJSON",
    description="All or nothing: a file that cannot be read imports nothing (422 with the "
    "line). Rows with an invalid address or owner id, over-long values, or an address that "
    "repeats an earlier line are rejected and reported; the others are imported. An address "
    "that is a customer already is rejected as a duplicate, or updated with "
    "`on_existing=update` (columns the file has; attributes merged).",
    openapi_extra=IMPORT_BODY,
    responses=IMPORT_ERROR_RESPONSES,
)
async def import_customers(
    request: Request,
    principal: CurrentPrincipal,
    importer: ImporterDep,
    on_existing: Literal["reject", "update"] = "reject",
) -> ImportReportOut:
    fmt, encoding = parse_content_type(request.headers.get("content-type", ""))
    rows = customer_rows(request.stream(), fmt, encoding)
    report = await importer.import_customers(
        principal.tenant_id, rows, update_existing=on_existing == "update"
    )
    return ImportReportOut.of(fmt.value, report)


def _changes(body: CustomerPatch) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    nulls = [name for name, value in changes.items() if value is None and name != "owner_user_id"]
    if nulls:
        raise Invalid(FieldError(name, "must not be null") for name in nulls)
    return changes


def customer_page(customers: list[Customer], limit: int) -> CustomerPage:
    return CustomerPage(
        items=[CustomerOut.of(c) for c in customers],
        next_after=customers[-1].id if len(customers) == limit else None,
    )
