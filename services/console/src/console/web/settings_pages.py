"""Settings: account information (footer address, time zone), one's profile and password,
users and roles, registered senders, sending domains and the DNS records to publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter
from fastapi.responses import Response

from console.errors import ApiError, FormErrors
from console.i18n import gettext as _
from console.web.deps import FormDep, Screen, ScreenDep, text, texts
from console.web.forms import attempt, done

router = APIRouter(prefix="/settings")

ROLES = ("member", "manager", "admin")
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
TENANT_FIELDS = ("company_name", "postal_address", "contact", "time_zone")


@dataclass(frozen=True)
class Listing:
    """A page of what the tenant has in the composer, with a form that adds one."""

    template: str
    path: str
    extra: dict[str, Any] = field(default_factory=dict)

    async def show(self, screen: Screen, errors: FormErrors | None = None, **form: str) -> Response:
        return screen.render(
            self.template, errors=errors or FormErrors(),
            items=await screen.api.composer("GET", self.path), form=form, **self.extra,
        )  # fmt: skip


USERS = Listing("users.html", "/v1/users", {"roles": ROLES})
SENDERS = Listing("senders.html", "/v1/senders")


@router.get("/account")
async def account(screen: ScreenDep) -> Response:
    tenant = await screen.api.composer("GET", "/v1/tenant")
    return screen.render("account.html", tenant=tenant, zones=ZONES)


@router.post("/account")
async def save_account(form: FormDep, screen: ScreenDep) -> Response:
    body = texts(form, *TENANT_FIELDS)
    tenant, errors = await attempt(screen.api.composer("PATCH", "/v1/tenant", json=body))
    if errors:
        return screen.render("account.html", errors=errors, tenant=body, zones=ZONES)
    screen.user.data["time_zone"] = tenant["time_zone"]
    screen.user.data["company"] = tenant["company_name"]
    return done(screen.user, _("The account information was saved"), "/settings/account")


@router.get("/profile")
async def profile(screen: ScreenDep) -> Response:
    return screen.render("profile.html", person=await screen.api.composer("GET", "/v1/me"))


@router.post("/profile")
async def save_profile(form: FormDep, screen: ScreenDep) -> Response:
    me = screen.user.user["id"]
    if text(form, "form") == "password":
        body = {
            "current_password": str(form.get("current_password") or ""),
            "new_password": str(form.get("new_password") or ""),
        }
        call = screen.api.composer("PUT", f"/v1/users/{me}/password", json=body)
        done_message = _("Your password was changed")
    else:
        body = {"name": text(form, "name"), "signature": str(form.get("signature") or "")}
        call = screen.api.composer("PATCH", f"/v1/users/{me}", json=body)
        done_message = _("Your profile was saved")
    changed, errors = await attempt(call)
    if errors:
        person = await screen.api.composer("GET", "/v1/me")
        return screen.render("profile.html", errors=errors, person=person)
    if changed:
        screen.user.data["user"] = changed
    return done(screen.user, done_message, "/settings/profile")


@router.get("/users")
async def users(screen: ScreenDep) -> Response:
    return await USERS.show(screen)


@router.post("/users")
async def create_user(form: FormDep, screen: ScreenDep) -> Response:
    body = texts(form, "name", "email", "role")
    password = str(form.get("password") or "")
    created, errors = await attempt(screen.api.composer("POST", "/v1/users", json=body))
    if not errors and password:
        path = f"/v1/users/{created['id']}/password"
        set_password = screen.api.composer("PUT", path, json={"new_password": password})
        _done, errors = await attempt(set_password, {"new_password": "password"})
    if errors:
        return await USERS.show(screen, errors, **body)
    return done(screen.user, _("The user was created"), "/settings/users")


@router.get("/users/{user_id}")
async def user_page(user_id: str, screen: ScreenDep) -> Response:
    person = await screen.api.composer("GET", f"/v1/users/{user_id}")
    return screen.render("user.html", person=person, roles=ROLES)


@router.post("/users/{user_id}")
async def save_user(user_id: str, form: FormDep, screen: ScreenDep) -> Response:
    if text(form, "form") == "password":
        body: dict[str, Any] = {"new_password": str(form.get("new_password") or "")}
        call = screen.api.composer("PUT", f"/v1/users/{user_id}/password", json=body)
        done_message = _("The password was reset")
    else:
        body = texts(form, "name", "email", "role")
        call = screen.api.composer("PATCH", f"/v1/users/{user_id}", json=body)
        done_message = _("The user was saved")
    _done, errors = await attempt(call)
    if errors:
        person = await screen.api.composer("GET", f"/v1/users/{user_id}")
        return screen.render("user.html", errors=errors, person=person, roles=ROLES)
    return done(screen.user, done_message, f"/settings/users/{user_id}")


@router.get("/senders")
async def senders(screen: ScreenDep) -> Response:
    return await SENDERS.show(screen)


@router.post("/senders")
async def create_sender(form: FormDep, screen: ScreenDep) -> Response:
    body = texts(form, "name", "email")
    _done, errors = await attempt(screen.api.composer("POST", "/v1/senders", json=body))
    if errors:
        return await SENDERS.show(screen, errors, **body)
    return done(screen.user, _("The sender was registered"), "/settings/senders")


@router.post("/senders/{sender_id}/delete")
async def delete_sender(sender_id: str, form: FormDep, screen: ScreenDep) -> Response:
    del form  # checked for its CSRF token
    await screen.api.composer("DELETE", f"/v1/senders/{sender_id}")
    return done(screen.user, _("The sender was removed"), "/settings/senders")


@router.get("/domains")
async def domains(screen: ScreenDep) -> Response:
    return await _domains(screen)


async def _domains(screen: Screen, errors: FormErrors | None = None, **form: str) -> Response:
    try:
        items: list[dict[str, Any]] | None = await screen.api.composer("GET", "/v1/sending-domains")
    except ApiError as exc:
        if exc.status not in (404, 405):
            raise
        items = None  # a composer without sending domains yet
    if isinstance(items, dict):
        items = items.get("items", [])
    return screen.render("domains.html", errors=errors or FormErrors(), items=items, form=form)


@router.post("/domains")
async def create_domain(form: FormDep, screen: ScreenDep) -> Response:
    body = texts(form, "domain")
    _done, errors = await attempt(screen.api.composer("POST", "/v1/sending-domains", json=body))
    if errors:
        return await _domains(screen, errors, **body)
    return done(
        screen.user,
        _("The domain was added: publish its DNS records, then verify it"),
        "/settings/domains",
    )


@router.post("/domains/{domain_id}/verify")
async def verify_domain(domain_id: str, form: FormDep, screen: ScreenDep) -> Response:
    del form  # checked for its CSRF token
    path = f"/v1/sending-domains/{domain_id}/verify"
    found, errors = await attempt(screen.api.composer("POST", path))
    if errors:
        return await _domains(screen, errors)
    status = (found or {}).get("status", "")
    message = _("Verification result: {status}").format(status=status)
    return done(screen.user, message, "/settings/domains")
