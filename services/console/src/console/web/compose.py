"""「一斉メールを作成する」: the compose screen, its preview and test send, and the
confirmation of 「今すぐ送信」 / 「予約送信」."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console import composing
from console.errors import ApiError, FormErrors
from console.i18n import N_
from console.i18n import gettext as _
from console.web import works
from console.web.deps import Api, ApiDep, FormDep, UserDep, text
from console.web.forms import required
from console.web.visit import Visit
from console.web.works import Draft, DraftDep
from contracts import merge

router = APIRouter()

ACTIONS = ("save", "send_now", "schedule", "preview", "test_send", "recipients", "sender")
PREVIEW_CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox"


@router.get("/campaigns/new")
async def new(user: UserDep) -> Response:
    return RedirectResponse(f"/compose/{works.start(user)}", status_code=303)


@router.get("/campaigns/{campaign_id}/edit")
async def edit(campaign_id: str, user: UserDep, api: ApiDep) -> Response:
    campaign = await api.composer("GET", f"/v1/campaigns/{campaign_id}")
    if campaign["state"] != "draft":
        user.flash(_("A scheduled mail cannot be edited: cancel the schedule first"), "warning")
        return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)
    return RedirectResponse(f"/compose/{works.start(user, campaign)}", status_code=303)


@router.get("/compose/{work_id}")
async def compose_page(draft: DraftDep) -> Response:
    return await render(draft)


async def render(draft: Draft, errors: FormErrors | None = None, **extra: Any) -> Response:
    content = draft.work["content"]
    return draft.render(
        "compose.html",
        errors=errors or FormErrors(),
        work_id=draft.work_id,
        work=draft.work,
        content=content,
        labels=await works.labels(draft.api, draft.work),
        group_count=composing.group_count(content),
        max_groups=composing.MAX_GROUPS,
        sender=await sender_label(draft.api, draft.user, content),
        audience=await audience(draft.api, content),
        merge_fields=list(merge.FIELDS),
        timings=composing.TIMINGS,
        **extra,
    )


async def sender_label(api: Api, user: Visit, content: dict[str, Any]) -> str:
    if content["sender_mode"] == "on_behalf_user" and content["sender_user_id"]:
        found = await api.composer("GET", f"/v1/users/{content['sender_user_id']}")
        return f"{found['name']} <{found['email']}>"
    if content["sender_mode"] == "on_behalf_registered" and content["sender_registered_id"]:
        found = await api.composer("GET", f"/v1/senders/{content['sender_registered_id']}")
        return f"{found['name']} <{found['email']}>"
    return f"{user.user.get('name', '')} <{user.user.get('email', '')}>"


async def audience(api: Api, content: dict[str, Any]) -> dict[str, Any] | None:
    """The audience as recipients would resolve it now; None when nothing is chosen."""
    spec = content["recipients"]
    if not spec["customer_ids"] and not spec["include_group_ids"]:
        return None
    body = {
        "recipients": spec,
        "merge_fields": merge.used_fields(
            content["subject"], content["html_body"], content["text_body"]
        ),
        "exclude_missing_merge": content["exclude_missing_merge"],
    }
    try:
        found: dict[str, Any] = await api.recipients("POST", "/v1/audience/count", json=body)
    except ApiError as exc:
        if exc.status in (404, 405, 422):
            return None
        raise
    return found


@router.post("/compose/{work_id}")
async def submit(form: FormDep, draft: DraftDep) -> Response:
    composing.take_form(
        draft.work["content"], {k: v for k, v in form.items() if isinstance(v, str)}
    )
    action = text(form, "action")
    if action in ("recipients", "sender"):
        return RedirectResponse(f"/compose/{draft.work_id}/{action}", status_code=303)
    errors = await works.save(draft.api, draft.work)
    if errors:
        return await render(draft, errors)
    if action in ("send_now", "schedule"):
        mode = "now" if action == "send_now" else "schedule"
        return RedirectResponse(f"/compose/{draft.work_id}/confirm?mode={mode}", status_code=303)
    if action in ("preview", "test_send"):
        return await try_out(draft, action, text(form, "preview_email"))
    draft.user.flash(_("The draft was saved"))
    return RedirectResponse(f"/compose/{draft.work_id}", status_code=303)


async def chosen_customer(api: Api, email: str, errors: FormErrors) -> str | None:
    """The customer a preview or a test send renders for, named by address."""
    if not email:
        errors.add("preview_email", N_("Enter the email address of a customer"))
        return None
    found = await api.recipients("GET", "/v1/customers", params={"email": email})
    if not found["items"]:
        errors.add("preview_email", N_("No customer has this email address"))
        return None
    return str(found["items"][0]["id"])


async def for_customer(
    api: Api, work: dict[str, Any], what: str, email: str
) -> tuple[Any, FormErrors]:
    """Asks the composer to preview or test-send the draft for the chosen customer."""
    errors = FormErrors()
    customer_id = await chosen_customer(api, email, errors)
    if customer_id is None:
        return None, errors
    path = f"/v1/campaigns/{work['campaign_id']}/{what}"
    try:
        return await api.composer("POST", path, json={"customer_id": customer_id}), errors
    except ApiError as exc:
        if exc.status not in (404, 405, 422):
            raise
        shown_by = {"customer_id": "preview_email", "email": "preview_email", "id": "preview_email"}
        errors = FormErrors.of(exc, shown_by)
        if exc.status == 405:  # a composer without previews
            errors = FormErrors()
            errors.add("preview_email", N_("Preview and test send are not available yet"))
        return None, errors


async def try_out(draft: Draft, action: str, email: str) -> Response:
    """A preview, or a test to the signed-in user's own address, rendered for the chosen
    customer."""
    what = "preview" if action == "preview" else "test-send"
    answer, errors = await for_customer(draft.api, draft.work, what, email)
    if errors:
        return await render(draft, errors, preview_email=email)
    draft.work["preview_email"] = email
    if action == "preview":
        draft.work["preview"] = answer
        return await render(draft, preview_email=email, show_preview=True)
    to = answer.get("to") or draft.user.user.get("email", "")
    draft.user.flash(_("A test mail was sent to {address}").format(address=to))
    return RedirectResponse(f"/compose/{draft.work_id}", status_code=303)


@router.get("/compose/{work_id}/preview.html")
async def preview_html(draft: DraftDep) -> Response:
    """The previewed HTML part, in a frame with its own policy: no script, no form, and
    the mail's own inline styles."""
    shown = draft.work.get("preview") or {}
    body = shown.get("html") or "<pre>" + _escape(shown.get("text") or "") + "</pre>"
    return HTMLResponse(body, headers={"Content-Security-Policy": PREVIEW_CSP})


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@router.get("/compose/{work_id}/confirm")
async def confirm_page(draft: DraftDep) -> Response:
    mode = "schedule" if draft.request.query_params.get("mode") == "schedule" else "now"
    tomorrow = datetime.now(ZoneInfo(draft.user.time_zone)).date() + timedelta(days=1)
    return await confirm(draft, mode, tomorrow.isoformat(), "09:00")


async def confirm(
    draft: Draft, mode: str, date: str, time: str, errors: FormErrors | None = None
) -> Response:
    if not draft.work["campaign_id"]:
        return RedirectResponse(f"/compose/{draft.work_id}", status_code=303)
    content = draft.work["content"]
    return draft.render(
        "confirm.html",
        errors=errors or FormErrors(),
        work_id=draft.work_id,
        mode=mode,
        content=content,
        labels=await works.labels(draft.api, draft.work),
        sender=await sender_label(draft.api, draft.user, content),
        audience=await audience(draft.api, content),
        date=date,
        time=time,
    )


@router.post("/compose/{work_id}/confirm")
async def confirmed(form: FormDep, draft: DraftDep) -> Response:
    mode, date, time = text(form, "mode"), text(form, "date"), text(form, "time")
    path = f"/v1/campaigns/{draft.work['campaign_id']}"
    try:
        if mode == "schedule":
            errors = required(
                ("date", date, N_("Choose a date")), ("time", time, N_("Choose a time"))
            )
            if errors:
                return await confirm(draft, mode, date, time, errors)
            await draft.api.composer("POST", path + "/schedule", json={"send_at": f"{date}T{time}"})
            draft.user.flash(_("The mail was scheduled"))
        else:
            await draft.api.composer("POST", path + "/send")
            draft.user.flash(_("Sending has started"))
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        errors = FormErrors.of(exc, {"send_at": "date"})
        return await confirm(draft, mode, date, time, errors)
    works.finish(draft.user, draft.work_id)
    return RedirectResponse(f"/campaigns/{draft.work['campaign_id']}", status_code=303)
