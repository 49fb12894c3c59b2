"""The notifier's own HTTP endpoints: closing periods on demand, and digest statistics.

`GET /v1/digests/stats` answers an API key (`Authorization: Bearer bm_...`, verified by the
composer) with its own tenant's counters only. The admin endpoints (closing periods sends
mail; the counters of every tenant) are guarded: with `ADMIN_TOKEN` set they need
`Authorization: Bearer <ADMIN_TOKEN>`; without one they answer only loopback clients (the
service binds 127.0.0.1 by default).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from ipaddress import ip_address
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from notifier.digests import DigestCycle
from servicekit.api_errors import error_responses
from servicekit.auth import CurrentPrincipal
from servicekit.errors import Forbidden


class ClosePeriods(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: AwareDatetime = Field(description="Close every period that ended by this time.")
    tenant_id: UUID | None = Field(default=None, description="Only this tenant's users.")
    wait_s: float = Field(
        default=30.0, ge=0, le=300, description="How long to wait for digests being sent."
    )


class CloseResult(BaseModel):
    as_of: str
    claimed: int = Field(description="Digests claimed by this call (one per user).")
    sent: int = Field(description="Digests this call sent (some may be others' retries).")
    unsent: int = Field(description="Claimed digests not sent yet (retrying or failed).")


class DigestStats(BaseModel):
    digests_sent: int
    notifications_pending: int = Field(description="Hits waiting for their period to close.")
    awaiting_campaign: int = Field(
        description="Hits whose campaign settings (CampaignScheduled) have not arrived."
    )
    suppressed_reopens: int = Field(description="Re-opens within an hour of the previous open.")
    machine_events: int = Field(description="Opens and clicks flagged as automatic.")
    first_opens: int
    reopens: int
    clicks: int


def admin_guard(token: str) -> Callable[[Request], None]:
    def require_admin(request: Request) -> None:
        if token:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
                raise HTTPException(401, "admin token required", {"WWW-Authenticate": "Bearer"})
            return
        host = request.client.host if request.client else ""
        try:
            loopback = ip_address(host).is_loopback
        except ValueError:
            loopback = host in {"localhost", "testclient"}
        if not loopback:
            raise HTTPException(
                403, "admin endpoints answer loopback clients unless ADMIN_TOKEN is set"
            )

    return require_admin


def router(admin_token: str) -> APIRouter:
    routes = APIRouter()
    guard = admin_guard(admin_token)

    @routes.post(
        "/v1/admin/close-periods",
        summary="Close the periods that ended by a time and send their digests",
        tags=["admin"],
        dependencies=[Depends(guard)],
    )
    async def close_periods(body: ClosePeriods, request: Request) -> CloseResult:
        cycle: DigestCycle = request.state.cycle
        result = await cycle.close_and_send(body.as_of, body.tenant_id, wait_s=body.wait_s)
        return CloseResult(**result)

    @routes.get(
        "/v1/digests/stats",
        summary="Digest and hit counters of the API key's tenant",
        tags=["digests"],
        responses=error_responses(401, 403),
    )
    async def digest_stats(
        request: Request,
        principal: CurrentPrincipal,
        tenant_id: Annotated[
            UUID | None, Query(description="Optional; must be the key's own tenant.")
        ] = None,
    ) -> DigestStats:
        if tenant_id is not None and tenant_id != principal.tenant_id:
            raise Forbidden("tenant_id", "an API key sees its own tenant's counters only")
        cycle: DigestCycle = request.state.cycle
        return DigestStats(**await cycle.ledger.stats(principal.tenant_id))

    @routes.get(
        "/v1/admin/digests/stats",
        summary="Digest and hit counters of every tenant, or of one (operators)",
        tags=["admin"],
        dependencies=[Depends(guard)],
    )
    async def all_digest_stats(
        request: Request,
        tenant_id: Annotated[UUID | None, Query(description="Only this tenant's counts.")] = None,
    ) -> DigestStats:
        cycle: DigestCycle = request.state.cycle
        return DigestStats(**await cycle.ledger.stats(tenant_id))

    return routes
