"""顧客グループ: list, create, rename, members (add by address, remove)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from console.errors import FormErrors
from console.i18n import N_
from console.i18n import gettext as _
from console.web.deps import FormDep, Screen, ScreenDep, text, texts
from console.web.forms import attempt, done
from console.web.picker import all_groups

router = APIRouter()


@router.get("/groups")
async def groups(screen: ScreenDep) -> Response:
    return await _list(screen)


async def _list(screen: Screen, errors: FormErrors | None = None, **form: str) -> Response:
    query = screen.request.query_params.get("q", "").strip()
    found = await all_groups(screen.api)
    shown = [g for g in found if query.lower() in g["name"].lower()] if query else found
    return screen.render(
        "groups.html", errors=errors or FormErrors(), items=shown, q=query, form=form
    )


@router.post("/groups")
async def create_group(form: FormDep, screen: ScreenDep) -> Response:
    body = texts(form, "name", "description")
    created, errors = await attempt(screen.api.recipients("POST", "/v1/groups", json=body))
    if errors:
        return await _list(screen, errors, **body)
    return done(screen.user, _("The group was created"), f"/groups/{created['id']}")


@router.get("/groups/{group_id}")
async def group_page(group_id: str, screen: ScreenDep) -> Response:
    return await _group(group_id, screen)


async def _group(group_id: str, screen: Screen, errors: FormErrors | None = None) -> Response:
    group = await screen.api.recipients("GET", f"/v1/groups/{group_id}")
    params: dict[str, Any] = {"limit": 50}
    after = screen.request.query_params.get("after")
    if after:
        params["after"] = after
    path = f"/v1/groups/{group_id}/members"
    members = await screen.api.recipients("GET", path, params=params)
    return screen.render(
        "group.html", errors=errors or FormErrors(),
        group=group, members=members["items"], next_after=members["next_after"],
    )  # fmt: skip


@router.post("/groups/{group_id}")
async def rename_group(group_id: str, form: FormDep, screen: ScreenDep) -> Response:
    body = texts(form, "name", "description")
    call = screen.api.recipients("PATCH", f"/v1/groups/{group_id}", json=body)
    _done, errors = await attempt(call)
    if errors:
        return await _group(group_id, screen, errors)
    return done(screen.user, _("The group was saved"), f"/groups/{group_id}")


@router.post("/groups/{group_id}/members")
async def add_member(group_id: str, form: FormDep, screen: ScreenDep) -> Response:
    email = text(form, "email")
    params = {"email": email}
    found = await screen.api.recipients("GET", "/v1/customers", params=params) if email else {}
    errors = FormErrors()
    if not found or not found["items"]:
        errors.add("email", N_("No customer has this email address"))
        return await _group(group_id, screen, errors)
    customer_id = found["items"][0]["id"]
    path = f"/v1/groups/{group_id}/members/{customer_id}"
    _done, errors = await attempt(screen.api.recipients("PUT", path), {"id": "email"})
    if errors:
        return await _group(group_id, screen, errors)
    return done(screen.user, _("The customer was added to the group"), f"/groups/{group_id}")


@router.post("/groups/{group_id}/members/{customer_id}/remove")
async def remove_member(
    group_id: str, customer_id: str, form: FormDep, screen: ScreenDep
) -> Response:
    del form  # checked for its CSRF token
    await screen.api.recipients("DELETE", f"/v1/groups/{group_id}/members/{customer_id}")
    return done(screen.user, _("The customer was removed from the group"), f"/groups/{group_id}")
