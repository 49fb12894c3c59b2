"""The compose flow's two sub-screens: 「追加/顧客情報管理画面」 (groups and customers to
send to or leave out) and 「送信者設定」 (manager and above)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console import composing
from console.errors import ApiError, FormErrors
from console.i18n import gettext as _
from console.web import works
from console.web.deps import ApiDep, FormDep, PagesDep, UserDep, text

router = APIRouter()


async def all_groups(api: ApiDep) -> list[dict[str, Any]]:
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


async def find_customers(api: ApiDep, query: str) -> list[dict[str, Any]]:
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
async def recipients_page(
    work_id: str,
    request: Request,
    user: UserDep,
    api: ApiDep,
    pages: PagesDep,
    errors: FormErrors | None = None,
) -> Response:
    work = works.get(user, work_id)
    query = request.query_params.get("q", "").strip()
    groups = await all_groups(api)
    shown = [g for g in groups if query.lower() in g["name"].lower()] if query else groups
    return pages.render(
        request,
        "recipients.html",
        errors=errors or FormErrors(),
        work_id=work_id,
        spec=work["content"]["recipients"],
        labels=await works.labels(api, work),
        groups=shown,
        customers=await find_customers(api, query),
        q=query,
        group_count=composing.group_count(work["content"]),
        max_groups=composing.MAX_GROUPS,
    )


@router.post("/compose/{work_id}/recipients")
async def choose(
    work_id: str, request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    work = works.get(user, work_id)
    try:
        composing.choose(work, text(form, "op"), text(form, "id"), text(form, "label"))
    except composing.LimitReached:
        errors = FormErrors()
        errors.add(
            "groups",
            _("At most {n} groups can be chosen to send or not to send").format(
                n=composing.MAX_GROUPS
            ),
        )
        return await recipients_page(work_id, request, user, api, pages, errors)
    except ValueError:
        return RedirectResponse(f"/compose/{work_id}/recipients", status_code=303)
    query = text(form, "q")
    suffix = f"?q={query}" if query else ""
    return RedirectResponse(f"/compose/{work_id}/recipients{suffix}", status_code=303)


@router.get("/compose/{work_id}/sender")
async def sender_page(
    work_id: str, request: Request, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    work = works.get(user, work_id)
    if not user.at_least("manager"):
        return pages.render(
            request,
            "error.html",
            403,
            title=_("Only a manager or an admin can change the sender"),
            code=403,
        )
    return pages.render(
        request,
        "sender.html",
        work_id=work_id,
        content=work["content"],
        choice=composing.sender_choice(work["content"]),
        users=await api.composer("GET", "/v1/users"),
        senders=await api.composer("GET", "/v1/senders"),
    )


@router.post("/compose/{work_id}/sender")
async def choose_sender(work_id: str, form: FormDep, user: UserDep) -> Response:
    work = works.get(user, work_id)
    if user.at_least("manager"):
        composing.take_sender(
            work["content"], text(form, "sender"), form.get("send_as_owner") == "on"
        )
    return RedirectResponse(f"/compose/{work_id}", status_code=303)
