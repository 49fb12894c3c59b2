"""/v1/audience/count: how many customers a recipients spec would reach now, by reason
left out; what the console shows while a campaign is composed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from contracts import RecipientSpecIn
from recipients.api.errors import ERROR_RESPONSES
from recipients.domain import AudiencePlan, Sender, choosing
from recipients.ports import AudienceCounter
from servicekit.auth import CurrentPrincipal
from servicekit.http import port

router = APIRouter(prefix="/v1/audience", tags=["audience"], responses=ERROR_RESPONSES)

CounterDep = Annotated[AudienceCounter, Depends(port("audience_counter"))]
_NOBODY = UUID(int=0)


class AudienceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipients: RecipientSpecIn
    merge_fields: list[str] = Field(default=[], max_length=100)
    exclude_missing_merge: bool = False


class AudienceCount(BaseModel):
    total: int = Field(description="Customers who would receive the mail.")
    excluded: dict[str, int] = Field(description="Customers left out, by reason.")
    excluded_total: int


@router.post("/count", summary="Count the audience of a recipients spec, as resolved now")
async def count(
    body: AudienceQuery, principal: CurrentPrincipal, counter: CounterDep
) -> AudienceCount:
    plan = AudiencePlan(
        tenant_id=principal.tenant_id,
        campaign_id=_NOBODY,
        **choosing(body.recipients, body.merge_fields, body.exclude_missing_merge),
        sender=Sender(name="", email="", signature="", notify_user_id=_NOBODY),
        owners=(),
    )
    counts = await counter.count(plan)
    excluded = {str(reason): n for reason, n in counts.items() if reason is not None}
    return AudienceCount(
        total=counts.get(None, 0), excluded=excluded, excluded_total=sum(excluded.values())
    )
