"""Opt-outs (配信停止, バウンス登録, complaints) per address: list, export, lift."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from recipients.api.customers import After, Limit
from recipients.api.deps import Admin, ClockDep, Reader, SuppressionsDep
from recipients.api.errors import ERROR_RESPONSES
from recipients.api.models import (
    LiftIn,
    LiftOut,
    LiftPage,
    SuppressionOut,
    SuppressionPage,
)
from recipients.customers import Reason
from recipients.ports import SuppressionFilter, Suppressions
from servicekit.errors import Invalid

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"], responses=ERROR_RESPONSES)

ReasonFilter = Annotated[Reason | None, Query(description="Only entries of this reason.")]
EXPORT_PAGE = 5000
EXPORT_COLUMNS = ("address", "reason", "created_at", "source", "customer_id", "id")


@router.get(
    "",
    summary="List opt-outs",
    description="Addresses kept out of bulk mail, whether or not a customer has them now; "
    "pages in id order.",
)
async def list_suppressions(
    principal: Reader,
    suppressions: SuppressionsDep,
    after: After = None,
    limit: Limit = 100,
    reason: ReasonFilter = None,
    address: Annotated[str | None, Query(description="Exact address, any case.")] = None,
) -> SuppressionPage:
    only = SuppressionFilter(reason, address)
    page = await suppressions.page(principal.tenant_id, after=after, limit=limit, only=only)
    return SuppressionPage.of(page, limit)


@router.get(
    "/export",
    summary="Export opt-outs as CSV or NDJSON",
    description="Every entry (of one reason, if given), streamed in id order; columns "
    + ", ".join(EXPORT_COLUMNS)
    + ".",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def export_suppressions(
    principal: Reader,
    suppressions: SuppressionsDep,
    format: Literal["csv", "ndjson"] = "csv",
    reason: ReasonFilter = None,
) -> StreamingResponse:
    lines = _export(suppressions, principal.tenant_id, format, reason)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    filename = f"suppressions.{format}"
    return StreamingResponse(
        lines,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _export(
    suppressions: Suppressions, tenant_id: UUID, fmt: str, reason: Reason | None
) -> AsyncIterator[str]:
    """Page by page (keyset), so memory holds one page whatever the list's size."""
    if fmt == "csv":
        yield ",".join(EXPORT_COLUMNS) + "\r\n"
    after = None
    only = SuppressionFilter(reason)
    while page := await suppressions.page(tenant_id, after=after, limit=EXPORT_PAGE, only=only):
        rows = [SuppressionOut.model_validate(e).model_dump(mode="json") for e in page]
        if fmt == "csv":
            out = io.StringIO()
            csv.writer(out).writerows([row[c] or "" for c in EXPORT_COLUMNS] for row in rows)
            yield out.getvalue()
        else:
            yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        if len(page) < EXPORT_PAGE:
            return
        after = page[-1].id


@router.post(
    "/{suppression_id}/lift",
    summary="Lift an opt-out (admin)",
    description="The address may receive bulk mail again; the customer with it no longer "
    "shows it as unsubscribed or bounced. Who lifted it, when and why are kept "
    "(`GET /v1/suppressions/lifts`). A lifted (or unknown) entry is 404.",
)
async def lift_suppression(
    suppression_id: UUID,
    body: LiftIn,
    principal: Admin,
    suppressions: SuppressionsDep,
    clock: ClockDep,
) -> LiftOut:
    note = body.reason.strip()
    if not note:
        raise Invalid.one("reason", "must not be blank")
    lift = await suppressions.lift(
        principal.tenant_id, suppression_id, by=principal.user_id, at=clock.now(), note=note
    )
    return LiftOut.of(lift)


@router.get(
    "/lifts", summary="Lifted opt-outs, with who, when and why", description="Pages in id order."
)
async def list_lifts(
    principal: Reader, suppressions: SuppressionsDep, after: After = None, limit: Limit = 100
) -> LiftPage:
    page = await suppressions.lifts(principal.tenant_id, after=after, limit=limit)
    return LiftPage.of([LiftOut.of(lift) for lift in page], limit)
