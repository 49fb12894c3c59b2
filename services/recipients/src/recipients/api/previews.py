"""/v1/recipients/preview: the one recipient of a campaign snapshot narrowed to one customer
or address, resolved exactly as the campaign's audience would be; what the composer renders
a preview or a test send from."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from contracts import CampaignScheduled, RecipientResolved, decode
from recipients.api.deps import ClockDep, Reader
from recipients.api.errors import ERROR_RESPONSES
from recipients.domain import plan_audience
from recipients.encoding import RecipientEncoder
from recipients.ports import Audience
from servicekit.errors import Invalid, NotFound
from servicekit.http import port

router = APIRouter(prefix="/v1/recipients", tags=["audience"], responses=ERROR_RESPONSES)

AudienceDep = Annotated[Audience, Depends(port("audience"))]


class PreviewRecipient(BaseModel):
    recipient: RecipientResolved
    excluded: str | None = Field(
        description="Why the campaign would leave this recipient out, e.g. unsubscribed."
    )


@router.post("/preview", summary="Resolve the one recipient of a narrowed campaign snapshot")
async def preview(
    campaign: CampaignScheduled, principal: Reader, audience: AudienceDep, clock: ClockDep
) -> PreviewRecipient:
    if campaign.tenant_id != principal.tenant_id:
        raise NotFound("campaign")  # another tenant's is as unknown as a missing one
    spec = campaign.recipients
    if spec.include_group_ids or len(spec.customer_ids) + len(spec.addresses) != 1:
        raise Invalid.one("recipients", "name exactly one customer or one address")
    plan = replace(plan_audience(campaign), render_excluded=True)
    batches = audience.batches(plan, after=None, size=1)
    try:
        first = await anext(batches, None)
    finally:
        await batches.aclose()
    if not first:
        raise NotFound("customer")
    customer_id, excluded, owner, fragment = first[0]
    [(_, value)] = RecipientEncoder(plan, clock.now()).encode_batch(
        [(customer_id, None, owner, fragment)]
    )
    return PreviewRecipient(recipient=decode(value, RecipientResolved), excluded=excluded)
