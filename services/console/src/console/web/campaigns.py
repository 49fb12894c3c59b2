"""「メール」>「一斉メール」: the folders (下書き, 予約 as a calendar and a list, 送信中,
送信済み), one campaign with its live progress, cancelling a schedule, deleting a draft."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse, Response

from console import calendar_view
from console.errors import ApiError
from console.i18n import gettext as _
from console.web.deps import Api, ApiDep, FormDep, Screen, ScreenDep, UserDep
from console.web.forms import done

router = APIRouter()

FOLDERS = ("drafts", "scheduled", "sending", "sent")
PAGE_SIZE = 20


@router.get("/campaigns")
async def folder(screen: ScreenDep) -> Response:
    query = screen.request.query_params
    name = query.get("folder", "drafts")
    name = name if name in FOLDERS else "drafts"
    if name == "scheduled" and query.get("view", "calendar") == "calendar":
        return await schedule_calendar(screen)
    params: dict[str, Any] = {"folder": name, "limit": PAGE_SIZE}
    cursor = query.get("cursor")
    if cursor:
        params["cursor"] = cursor
    page = await screen.api.composer("GET", "/v1/campaigns", params=params)
    return screen.render(
        "campaigns.html",
        folder=name,
        view="list",
        items=page["items"],
        next_cursor=page["next_cursor"],
        first_page=not cursor,
    )


async def schedule_calendar(screen: Screen) -> Response:
    zone = screen.user.time_zone
    today = datetime.now(ZoneInfo(zone)).date()
    month = calendar_view.month_of(screen.request.query_params.get("month"), today)
    start, end = calendar_view.month_bounds(month, zone)
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"folder": "scheduled", "limit": 200}
    for _page in range(50):  # the schedule is ordered by due time: stop past the month
        page = await screen.api.composer("GET", "/v1/campaigns", params=params)
        found += page["items"]
        last = page["items"][-1]["scheduled_for"] if page["items"] else None
        if not page["next_cursor"] or (last and datetime.fromisoformat(last) >= end):
            break
        params["cursor"] = page["next_cursor"]
    shown = [c for c in found if start <= datetime.fromisoformat(c["scheduled_for"]) < end]
    return screen.render(
        "campaigns.html",
        folder="scheduled",
        view="calendar",
        month=month,
        previous_month=calendar_view.shift(month, -1).strftime("%Y-%m"),
        next_month=calendar_view.shift(month, 1).strftime("%Y-%m"),
        weeks=calendar_view.weeks(month, shown, zone),
        today=today,
    )


@router.get("/campaigns/{campaign_id}")
async def campaign_page(campaign_id: str, screen: ScreenDep) -> Response:
    campaign = await screen.api.composer("GET", f"/v1/campaigns/{campaign_id}")
    progress = None
    if campaign["state"] in ("sending", "sent"):
        progress = await screen.api.composer("GET", f"/v1/campaigns/{campaign_id}/progress")
    creator = await _user_name(screen.api, campaign["created_by"])
    user = screen.user
    return screen.render(
        "campaign.html",
        campaign=campaign,
        progress=progress,
        creator=creator,
        may_change=user.at_least("manager") or campaign["created_by"] == user.user.get("id"),
    )


async def _user_name(api: Api, user_id: str) -> str:
    try:
        return str((await api.composer("GET", f"/v1/users/{user_id}"))["name"])
    except ApiError as exc:
        if exc.status == 404:
            return ""
        raise


@router.get("/campaigns/{campaign_id}/progress.json")
async def progress_json(campaign_id: str, api: ApiDep) -> Response:
    """What the campaign page polls while the campaign sends."""
    progress = await api.composer("GET", f"/v1/campaigns/{campaign_id}/progress")
    return JSONResponse(progress, headers={"Cache-Control": "no-store"})


@router.post("/campaigns/{campaign_id}/cancel")
async def cancel(campaign_id: str, form: FormDep, user: UserDep, api: ApiDep) -> Response:
    del form  # checked for its CSRF token
    try:
        await api.composer("POST", f"/v1/campaigns/{campaign_id}/cancel")
    except ApiError as exc:
        if exc.status != 409:
            raise
        user.flash(_("Sending has already started: the mail can no longer be cancelled"), "error")
        return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)
    return done(
        user,
        _("The schedule was cancelled: the mail is back in drafts"),
        "/campaigns?folder=drafts",
    )


@router.post("/campaigns/{campaign_id}/delete")
async def delete(campaign_id: str, form: FormDep, user: UserDep, api: ApiDep) -> Response:
    del form  # checked for its CSRF token
    await api.composer("DELETE", f"/v1/campaigns/{campaign_id}")
    return done(user, _("The draft was deleted"), "/campaigns?folder=drafts")
