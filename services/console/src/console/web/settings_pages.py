"""Settings: account information (footer address, time zone), one's profile and password,
users and roles, registered senders, sending domains and the DNS records to publish."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.errors import ApiError, FormErrors
from console.i18n import gettext as _
from console.web.deps import ApiDep, FormDep, PagesDep, UserDep, text
from console.web.forms import attempt, done

router = APIRouter(prefix="/settings")

ROLES = ("member", "manager", "admin")
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
TENANT_FIELDS = ("company_name", "postal_address", "contact", "time_zone")


@router.get("/account")
async def account(request: Request, api: ApiDep, pages: PagesDep) -> Response:
    tenant = await api.composer("GET", "/v1/tenant")
    return pages.render(request, "account.html", tenant=tenant, zones=ZONES)


@router.post("/account")
async def save_account(
    request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    body = {name: text(form, name) for name in TENANT_FIELDS}
    tenant, errors = await attempt(api.composer("PATCH", "/v1/tenant", json=body))
    if errors:
        return pages.render(request, "account.html", errors=errors, tenant=body, zones=ZONES)
    user.data["time_zone"] = tenant["time_zone"]
    user.data["company"] = tenant["company_name"]
    return done(user, _("The account information was saved"), "/settings/account")


@router.get("/profile")
async def profile(request: Request, api: ApiDep, pages: PagesDep) -> Response:
    return pages.render(request, "profile.html", person=await api.composer("GET", "/v1/me"))


@router.post("/profile")
async def save_profile(
    request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    me = user.user["id"]
    if text(form, "form") == "password":
        body = {
            "current_password": str(form.get("current_password") or ""),
            "new_password": str(form.get("new_password") or ""),
        }
        call = api.composer("PUT", f"/v1/users/{me}/password", json=body)
        done_message = _("Your password was changed")
    else:
        body = {"name": text(form, "name"), "signature": str(form.get("signature") or "")}
        call = api.composer("PATCH", f"/v1/users/{me}", json=body)
        done_message = _("Your profile was saved")
    changed, errors = await attempt(call)
    if errors:
        person = await api.composer("GET", "/v1/me")
        return pages.render(request, "profile.html", errors=errors, person=person)
    if changed:
        user.data["user"] = changed
    user.flash(done_message)
    return RedirectResponse("/settings/profile", status_code=303)


@router.get("/users")
async def users(request: Request, api: ApiDep, pages: PagesDep) -> Response:
    return await _users(request, api, pages)


async def _users(
    request: Request, api: ApiDep, pages: PagesDep, errors: FormErrors | None = None, **form: str
) -> Response:
    return pages.render(
        request, "users.html", errors=errors or FormErrors(),
        items=await api.composer("GET", "/v1/users"), roles=ROLES, form=form,
    )  # fmt: skip


@router.post("/users")
async def create_user(
    request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    body = {name: text(form, name) for name in ("name", "email", "role")}
    password = str(form.get("password") or "")
    created, errors = await attempt(api.composer("POST", "/v1/users", json=body))
    if not errors and password:
        path = f"/v1/users/{created['id']}/password"
        _done, errors = await attempt(
            api.composer("PUT", path, json={"new_password": password}), {"new_password": "password"}
        )
    if errors:
        return await _users(request, api, pages, errors, **body)
    return done(user, _("The user was created"), "/settings/users")


@router.get("/users/{user_id}")
async def user_page(user_id: str, request: Request, api: ApiDep, pages: PagesDep) -> Response:
    person = await api.composer("GET", f"/v1/users/{user_id}")
    return pages.render(request, "user.html", person=person, roles=ROLES)


@router.post("/users/{user_id}")
async def save_user(
    user_id: str, request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    if text(form, "form") == "password":
        body: dict[str, Any] = {"new_password": str(form.get("new_password") or "")}
        call = api.composer("PUT", f"/v1/users/{user_id}/password", json=body)
        done_message = _("The password was reset")
    else:
        body = {name: text(form, name) for name in ("name", "email", "role")}
        call = api.composer("PATCH", f"/v1/users/{user_id}", json=body)
        done_message = _("The user was saved")
    _done, errors = await attempt(call)
    if errors:
        person = await api.composer("GET", f"/v1/users/{user_id}")
        return pages.render(request, "user.html", errors=errors, person=person, roles=ROLES)
    user.flash(done_message)
    return RedirectResponse(f"/settings/users/{user_id}", status_code=303)


@router.get("/senders")
async def senders(request: Request, api: ApiDep, pages: PagesDep) -> Response:
    return await _senders(request, api, pages)


async def _senders(
    request: Request, api: ApiDep, pages: PagesDep, errors: FormErrors | None = None, **form: str
) -> Response:
    return pages.render(
        request, "senders.html", errors=errors or FormErrors(),
        items=await api.composer("GET", "/v1/senders"), form=form,
    )  # fmt: skip


@router.post("/senders")
async def create_sender(
    request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    body = {"name": text(form, "name"), "email": text(form, "email")}
    _done, errors = await attempt(api.composer("POST", "/v1/senders", json=body))
    if errors:
        return await _senders(request, api, pages, errors, **body)
    return done(user, _("The sender was registered"), "/settings/senders")


@router.post("/senders/{sender_id}/delete")
async def delete_sender(sender_id: str, form: FormDep, user: UserDep, api: ApiDep) -> Response:
    del form  # checked for its CSRF token
    await api.composer("DELETE", f"/v1/senders/{sender_id}")
    return done(user, _("The sender was removed"), "/settings/senders")


@router.get("/domains")
async def domains(request: Request, api: ApiDep, pages: PagesDep) -> Response:
    return await _domains(request, api, pages)


async def _domains(
    request: Request, api: ApiDep, pages: PagesDep, errors: FormErrors | None = None, **form: str
) -> Response:
    try:
        items: list[dict[str, Any]] | None = await api.composer("GET", "/v1/sending-domains")
    except ApiError as exc:
        if exc.status not in (404, 405):
            raise
        items = None  # a composer without sending domains yet
    if isinstance(items, dict):
        items = items.get("items", [])
    return pages.render(
        request, "domains.html", errors=errors or FormErrors(),
        items=items, form=form,
    )  # fmt: skip


@router.post("/domains")
async def create_domain(
    request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    body = {"domain": text(form, "domain")}
    _done, errors = await attempt(api.composer("POST", "/v1/sending-domains", json=body))
    if errors:
        return await _domains(request, api, pages, errors, **body)
    return done(
        user,
        _("The domain was added: publish its DNS records, then verify it"),
        "/settings/domains",
    )


@router.post("/domains/{domain_id}/verify")
async def verify_domain(
    domain_id: str, request: Request, form: FormDep, user: UserDep, api: ApiDep, pages: PagesDep
) -> Response:
    del form  # checked for its CSRF token
    path = f"/v1/sending-domains/{domain_id}/verify"
    found, errors = await attempt(api.composer("POST", path))
    if errors:
        return await _domains(request, api, pages, errors)
    status = (found or {}).get("status", "")
    return done(user, _("Verification result: {status}").format(status=status), "/settings/domains")
