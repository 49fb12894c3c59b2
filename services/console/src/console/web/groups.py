"""顧客グループ: list, create, rename, members (add by address, remove)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.errors import FormErrors
from console.i18n import N_
from console.i18n import gettext as _
from console.web.deps import ApiDep, FormDep, PagesDep, UserDep, text
from console.web.forms import attempt, done
from console.web.picker import all_groups

router = APIRouter()


@router.get("/groups")
async def groups(request: Request, api: ApiDep, pages: PagesDep) -> Response:
    return await _list(request, api, pages)


async def _list(
    request: Request, api: ApiDep, pages: PagesDep, errors: FormErrors | None = None, **form: str
) -> Response:
    query = request.query_params.get("q", "").strip()
    found = await all_groups(api)
    shown = [g for g in found if query.lower() in g["name"].lower()] if query else found
    return pages.render(
        request, "groups.html",
        errors=errors or FormErrors(), items=shown, q=query, form=form,
    )  # fmt: skip


@router.post("/groups")
async def create_group(
    request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    body = {"name": text(form, "name"), "description": text(form, "description")}
    created, errors = await attempt(api.recipients("POST", "/v1/groups", json=body))
    if errors:
        return await _list(request, api, pages, errors, **body)
    return done(user, _("The group was created"), f"/groups/{created['id']}")


@router.get("/groups/{group_id}")
async def group_page(group_id: str, request: Request, api: ApiDep, pages: PagesDep) -> Response:
    return await _group(group_id, request, api, pages)


async def _group(
    group_id: str, request: Request, api: ApiDep, pages: PagesDep, errors: FormErrors | None = None
) -> Response:
    group = await api.recipients("GET", f"/v1/groups/{group_id}")
    params: dict[str, Any] = {"limit": 50}
    after = request.query_params.get("after")
    if after:
        params["after"] = after
    members = await api.recipients("GET", f"/v1/groups/{group_id}/members", params=params)
    return pages.render(
        request, "group.html", errors=errors or FormErrors(),
        group=group, members=members["items"], next_after=members["next_after"],
    )  # fmt: skip


@router.post("/groups/{group_id}")
async def rename_group(
    group_id: str, request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    body = {"name": text(form, "name"), "description": text(form, "description")}
    _done, errors = await attempt(api.recipients("PATCH", f"/v1/groups/{group_id}", json=body))
    if errors:
        return await _group(group_id, request, api, pages, errors)
    return done(user, _("The group was saved"), f"/groups/{group_id}")


@router.post("/groups/{group_id}/members")
async def add_member(
    group_id: str, request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    email = text(form, "email")
    found = await api.recipients("GET", "/v1/customers", params={"email": email}) if email else {}
    errors = FormErrors()
    if not found or not found["items"]:
        errors.add("email", N_("No customer has this email address"))
        return await _group(group_id, request, api, pages, errors)
    customer_id = found["items"][0]["id"]
    path = f"/v1/groups/{group_id}/members/{customer_id}"
    _done, errors = await attempt(api.recipients("PUT", path), {"id": "email"})
    if errors:
        return await _group(group_id, request, api, pages, errors)
    return done(user, _("The customer was added to the group"), f"/groups/{group_id}")


@router.post("/groups/{group_id}/members/{customer_id}/remove")
async def remove_member(
    group_id: str, customer_id: str, form: FormDep, user: UserDep, api: ApiDep
) -> Response:
    del form  # checked for its CSRF token
    await api.recipients("DELETE", f"/v1/groups/{group_id}/members/{customer_id}")
    return done(user, _("The customer was removed from the group"), f"/groups/{group_id}")
