"""Sign-in, sign-out and the choice of language."""

from __future__ import annotations

import secrets
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console import i18n
from console.errors import ApiError, FormErrors
from console.i18n import N_
from console.metrics import SIGN_INS
from console.ports import ApiCall
from console.web.deps import (
    BackendDep,
    FormDep,
    LimiterDep,
    PagesDep,
    SessionsDep,
    SettingsDep,
    VisitDep,
    local_path,
    text,
)
from console.web.forms import required
from console.web.visit import LANG_COOKIE, SESSION_COOKIE, Visit

router = APIRouter()


@router.get("/")
async def home(visit: VisitDep) -> Response:
    return RedirectResponse("/campaigns" if visit.signed_in else "/login", status_code=303)


@router.get("/login")
async def login_page(request: Request, pages: PagesDep, visit: VisitDep) -> Response:
    if visit.signed_in:
        return RedirectResponse("/campaigns", status_code=303)
    signed_out = request.query_params.get("signed_out") == "1"
    return pages.render(
        request, "login.html", next=request.query_params.get("next", ""), signed_out=signed_out
    )


@router.post("/login")
async def login(
    request: Request,
    form: FormDep,
    pages: PagesDep,
    visit: VisitDep,
    backend: BackendDep,
    limiter: LimiterDep,
    sessions: SessionsDep,
    settings: SettingsDep,
) -> Response:
    email, password = text(form, "email"), str(form.get("password") or "")
    tenant_id = text(form, "tenant_id") or None
    values: dict[str, Any] = {"email": email, "next": text(form, "next")}
    errors = required(
        ("email", email, N_("Enter your email address")),
        ("password", password, N_("Enter your password")),
    )
    if errors:
        return pages.render(request, "login.html", errors=errors, **values)
    ip = request.client.host if request.client else "unknown"
    keys = {f"ip:{ip}": settings.login_limit_per_ip,
            f"address:{email.lower()}": settings.login_limit_per_address}  # fmt: skip
    if any([await limiter.blocked(key, limit) for key, limit in keys.items()]):
        SIGN_INS.labels("limited").inc()
        errors.add("email", N_("Too many sign-in attempts. Wait a few minutes and try again."))
        return pages.render(request, "login.html", errors=errors, **values)
    body: dict[str, Any] = {"email": email, "password": password}
    if tenant_id:
        body["tenant_id"] = tenant_id
    try:
        session = await backend.call("composer", ApiCall("POST", "/v1/auth/login", None, json=body))
    except ApiError as exc:
        SIGN_INS.labels("refused").inc()
        for key in keys:
            await limiter.fail(key, settings.login_limit_minutes * 60)
        tenants = exc.body.get("tenants") if exc.status == 422 else None
        if tenants:
            errors.add("tenant_id", N_("Choose the company you want to sign in to"))
        else:
            errors = FormErrors.of(exc)
        return pages.render(request, "login.html", errors=errors, tenants=tenants, **values)
    SIGN_INS.labels("signed_in").inc()
    await start_session(visit, session, backend, sessions, settings)
    return RedirectResponse(local_path(values["next"]), status_code=303)


async def start_session(
    visit: Visit,
    session: dict[str, Any],
    backend: BackendDep,
    sessions: SessionsDep,
    settings: SettingsDep,
) -> None:
    """A new session id at every sign-in (never the one a visitor brought: no fixation)."""
    tenant = await backend.call("composer", ApiCall("GET", "/v1/tenant", session["api_key"]))
    if visit.session_id:
        await sessions.destroy(visit.session_id)
    data = {
        "key": session["api_key"],
        "key_id": session["key_id"],
        "expires_at": session["expires_at"],
        "user": session["user"],
        "company": session["company_name"],
        "time_zone": tenant["time_zone"],
        "csrf": secrets.token_urlsafe(32),
        "locale": visit.locale,
    }
    visit.session_id = await sessions.create(data, settings.session_idle_minutes * 60)
    visit.data = data
    visit.new_cookies[SESSION_COOKIE] = visit.session_id


@router.post("/logout")
async def logout(
    form: FormDep, visit: VisitDep, backend: BackendDep, sessions: SessionsDep
) -> Response:
    del form  # checked for its CSRF token
    if visit.session_id:
        with suppress(ApiError):  # already expired or revoked: nothing left to revoke
            await backend.call("composer", ApiCall("POST", "/v1/auth/logout", visit.key))
        await sessions.destroy(visit.session_id)
        visit.session_id, visit.data = None, {}
        visit.new_cookies[SESSION_COOKIE] = ""
    return RedirectResponse("/login?signed_out=1", status_code=303)


@router.post("/locale")
async def choose_locale(form: FormDep, visit: VisitDep) -> Response:
    locale = i18n.pick(text(form, "locale"), visit.locale)
    visit.new_cookies[LANG_COOKIE] = locale
    if visit.signed_in:
        visit.data["locale"] = locale
        visit.dirty = True
    return RedirectResponse(local_path(text(form, "back"), "/"), status_code=303)
