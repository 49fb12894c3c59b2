"""/v1/campaigns: compose, edit, list by folder, preview, test send, send now, schedule,
cancel, progress."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from composer import handlers, previews, references
from composer.api.deps import BEARER_DOC, AskingDep, ClockDep, PreviewerDep, StoreDep
from composer.api.errors import ERROR_RESPONSES
from composer.api.models import (
    CampaignOut,
    CampaignPage,
    CampaignSummary,
    PreviewOut,
    ProgressOut,
    RecipientChoice,
    ScheduleIn,
    TestSendOut,
    UnknownIn,
    UnknownOut,
    decode_cursor,
    encode_cursor,
)
from composer.domain import CampaignContent
from composer.previews import Asking
from servicekit.auth import CurrentPrincipal

router = APIRouter(
    prefix="/v1/campaigns", tags=["campaigns"], responses=ERROR_RESPONSES, dependencies=[BEARER_DOC]
)

Folder = Literal["drafts", "scheduled", "sending", "sent"]


@router.post("", status_code=201, summary="Create a draft")
async def create(body: CampaignContent, asking: AskingDep) -> CampaignOut:
    await _check_groups(body, asking)
    campaign = await handlers.create_campaign(
        body, actor=asking.actor, store=asking.store, clock=asking.clock
    )
    return CampaignOut.of(campaign)


@router.get("", summary="List one folder")
async def list_folder(
    actor: CurrentPrincipal,
    store: StoreDep,
    folder: Folder = "drafts",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> CampaignPage:
    after = decode_cursor(cursor) if cursor else None
    items = await handlers.list_campaigns(
        folder, actor=actor, store=store, limit=limit, after=after
    )
    next_cursor = encode_cursor(items[-1], folder) if len(items) == limit else None
    return CampaignPage(items=[CampaignSummary.of(c) for c in items], next_cursor=next_cursor)


@router.get("/{campaign_id}", summary="Get one campaign")
async def get(campaign_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> CampaignOut:
    return CampaignOut.of(await handlers.get_campaign(campaign_id, actor=actor, store=store))


@router.patch("/{campaign_id}", summary="Edit a draft (only the fields given change)")
async def edit(campaign_id: UUID, body: CampaignContent, asking: AskingDep) -> CampaignOut:
    if "recipients" in body.model_fields_set:
        await _check_groups(body, asking)
    changes = body.model_dump(include=body.model_fields_set)
    campaign = await handlers.update_campaign(
        campaign_id, changes, actor=asking.actor, store=asking.store, clock=asking.clock
    )
    return CampaignOut.of(campaign)


@router.delete("/{campaign_id}", status_code=204, summary="Delete a draft")
async def delete(campaign_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> Response:
    await handlers.delete_campaign(campaign_id, actor=actor, store=store)
    return Response(status_code=204)


@router.post("/{campaign_id}/send", summary="Send a draft now")
async def send_now(campaign_id: UUID, asking: AskingDep) -> CampaignOut:
    await _check_groups_of(campaign_id, asking)
    campaign = await handlers.send_now(
        campaign_id, actor=asking.actor, store=asking.store, clock=asking.clock
    )
    return CampaignOut.of(campaign)


@router.post("/{campaign_id}/schedule", summary="Schedule a draft for a date and time")
async def schedule(campaign_id: UUID, body: ScheduleIn, asking: AskingDep) -> CampaignOut:
    await _check_groups_of(campaign_id, asking)
    campaign = await handlers.schedule_campaign(
        campaign_id, body.send_at, actor=asking.actor, store=asking.store, clock=asking.clock
    )
    return CampaignOut.of(campaign)


@router.post("/{campaign_id}/cancel", summary="Cancel a schedule (back to drafts)")
async def cancel(
    campaign_id: UUID, actor: CurrentPrincipal, store: StoreDep, clock: ClockDep
) -> CampaignOut:
    campaign = await handlers.cancel_campaign(campaign_id, actor=actor, store=store, clock=clock)
    return CampaignOut.of(campaign)


@router.get("/{campaign_id}/progress", summary="Delivery and tracking progress")
async def progress(campaign_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> ProgressOut:
    campaign, counters = await handlers.get_progress(campaign_id, actor=actor, store=store)
    return ProgressOut.of(campaign, counters)


@router.post("/{campaign_id}/preview", summary="Render for one customer or address (HTML, text)")
async def preview(
    campaign_id: UUID, body: RecipientChoice, asking: AskingDep, previewer: PreviewerDep
) -> PreviewOut:
    return PreviewOut.of(await previews.preview(campaign_id, body.choice(), asking, previewer))


@router.post(
    "/{campaign_id}/test-send",
    status_code=202,
    summary="Send it, rendered for one customer, to the caller's own address",
)
async def test_send(campaign_id: UUID, body: RecipientChoice, asking: AskingDep) -> TestSendOut:
    return TestSendOut.of(await previews.test_send(campaign_id, body.choice(), asking))


@router.post(
    "/{campaign_id}/unknown",
    status_code=202,
    summary="Decide about messages whose outcome is unknown (resend or give up)",
    description="Messages whose SMTP transaction was in flight when a delivery process "
    "died are `unknown` in progress: the server may or may not have taken them. Delivery "
    "applies the decision; progress then counts them as sent again or as failed.",
)
async def resolve_unknown(
    campaign_id: UUID, body: UnknownIn, actor: CurrentPrincipal, store: StoreDep
) -> UnknownOut:
    count = await handlers.resolve_unknown(campaign_id, body.action, actor=actor, store=store)
    return UnknownOut(action=body.action, unknown=count)


async def _check_groups(content: CampaignContent, asking: Asking) -> None:
    await references.check_groups(
        content.recipients, audience=asking.audience, api_key=asking.api_key
    )


async def _check_groups_of(campaign_id: UUID, asking: Asking) -> None:
    """Groups may have been deleted since the draft was saved."""
    campaign = await handlers.get_campaign(campaign_id, actor=asking.actor, store=asking.store)
    await _check_groups(campaign.content, asking)
