"""The compose flow's two sub-screens: 「追加/顧客情報管理画面」 (groups and customers to
send to or leave out) and 「送信者設定」 (manager and above)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from console import composing
from console.errors import ApiError, FormErrors
from console.i18n import gettext as _
from console.web import works
from console.web.deps import Api, FormDep, text
from console.web.works import Draft, DraftDep

router = APIRouter()


async def all_groups(api: Api) -> list[dict[str, Any]]:
    """Every group of the tenant (groups are few; customers are many and are searched)."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    for _page in range(20):
        params: dict[str, Any] = {"limit": 500, **({"after": after} if after else {})}
        page = await api.recipients("GET", "/v1/groups", params=params)
        found += page["items"]
        after = page["next_after"]
        if not after:
            break
    return found


async def find_customers(api: Api, query: str) -> list[dict[str, Any]]:
    if not query:
        return []
    try:
        page = await api.recipients("GET", "/v1/customers", params={"q": query, "limit": 50})
    except ApiError as exc:
        if exc.status != 422:
            raise
        page = await api.recipients("GET", "/v1/customers", params={"email": query})
    items: list[dict[str, Any]] = page["items"]
    return items


@router.get("/compose/{work_id}/recipients")
async def recipients_page(draft: DraftDep) -> Response:
    return await _recipients(draft)


async def _recipients(draft: Draft, errors: FormErrors | None = None) -> Response:
    query = draft.request.query_params.get("q", "").strip()
    groups = await all_groups(draft.api)
    shown = [g for g in groups if query.lower() in g["name"].lower()] if query else groups
    return draft.render(
        "recipients.html",
        errors=errors or FormErrors(),
        work_id=draft.work_id,
        spec=draft.work["content"]["recipients"],
        labels=await works.labels(draft.api, draft.work),
        groups=shown,
        customers=await find_customers(draft.api, query),
        q=query,
        group_count=composing.group_count(draft.work["content"]),
        max_groups=composing.MAX_GROUPS,
    )


@router.post("/compose/{work_id}/recipients")
async def choose(form: FormDep, draft: DraftDep) -> Response:
    try:
        composing.choose(draft.work, text(form, "op"), text(form, "id"), text(form, "label"))
    except composing.LimitReached:
        errors = FormErrors()
        errors.add(
            "groups",
            _("At most {n} groups can be chosen to send or not to send").format(
                n=composing.MAX_GROUPS
            ),
        )
        return await _recipients(draft, errors)
    except ValueError:
        return RedirectResponse(f"/compose/{draft.work_id}/recipients", status_code=303)
    query = text(form, "q")
    suffix = f"?q={query}" if query else ""
    return RedirectResponse(f"/compose/{draft.work_id}/recipients{suffix}", status_code=303)


@router.get("/compose/{work_id}/sender")
async def sender_page(draft: DraftDep) -> Response:
    if not draft.user.at_least("manager"):
        return draft.render(
            "error.html",
            403,
            title=_("Only a manager or an admin can change the sender"),
            code=403,
        )
    return draft.render(
        "sender.html",
        work_id=draft.work_id,
        content=draft.work["content"],
        choice=composing.sender_choice(draft.work["content"]),
        users=await draft.api.composer("GET", "/v1/users"),
        senders=await draft.api.composer("GET", "/v1/senders"),
    )


@router.post("/compose/{work_id}/sender")
async def choose_sender(form: FormDep, draft: DraftDep) -> Response:
    if draft.user.at_least("manager"):
        composing.take_sender(
            draft.work["content"], text(form, "sender"), form.get("send_as_owner") == "on"
        )
    return RedirectResponse(f"/compose/{draft.work_id}", status_code=303)
