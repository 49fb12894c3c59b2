"""One request's visitor: the session behind the cookie (if any), the CSRF token every form
carries, and the language; loaded before and saved after each request by `middleware`.

The session cookie is a random id (HttpOnly, SameSite=Lax, Secure over HTTPS); what it
names lives in Redis. Signed-in forms carry the session's CSRF token; the forms of a visitor
who is not signed in (sign-in, language) carry the token of a cookie of its own.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

from console import i18n
from console.ports import Sessions
from console.settings import Settings

SESSION_COOKIE = "console_session"
CSRF_COOKIE = "console_csrf"
LANG_COOKIE = "console_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class NeedSignIn(Exception):
    """The page needs a signed-in user; the visitor goes to the sign-in page."""


class BadCsrf(Exception):
    """A form without the right CSRF token (a forged request, or a stale page)."""


@dataclass
class Visit:
    session_id: str | None
    data: dict[str, Any]
    anonymous_csrf: str
    locale: str
    dirty: bool = False
    new_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.session_id is not None

    @property
    def csrf(self) -> str:
        return str(self.data.get("csrf") or self.anonymous_csrf)

    @property
    def key(self) -> str:
        return str(self.data["key"])

    @property
    def user(self) -> dict[str, Any]:
        return dict(self.data.get("user") or {})

    @property
    def role(self) -> str:
        return str(self.user.get("role", "member"))

    def at_least(self, role: str) -> bool:
        order = ("member", "manager", "admin")
        return order.index(self.role) >= order.index(role)

    @property
    def time_zone(self) -> str:
        return str(self.data.get("time_zone", "Asia/Tokyo"))

    def flash(self, text: str, kind: str = "success") -> None:
        self.data.setdefault("flash", []).append([kind, text])
        self.dirty = True

    def take_flashes(self) -> list[list[str]]:
        flashes = self.data.pop("flash", [])
        if flashes:
            self.dirty = True
        return list(flashes)


def visit_of(request: Request) -> Visit:
    found: Visit = request.state.visit
    return found


def signed_in(request: Request) -> Visit:
    """FastAPI dependency of every page behind sign-in."""
    current = visit_of(request)
    if not current.signed_in:
        raise NeedSignIn()
    return current


async def checked_form(request: Request) -> FormData:
    """The request's form, refused unless it carries the visitor's CSRF token."""
    form = await request.form()
    sent = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
    if not sent or not hmac.compare_digest(sent, visit_of(request).csrf):
        raise BadCsrf()
    return form


async def load(request: Request, sessions: Sessions, settings: Settings) -> Visit:
    ttl = settings.session_idle_minutes * 60
    session_id = request.cookies.get(SESSION_COOKIE)
    data = await sessions.load(session_id, ttl) if session_id else None
    anonymous = request.cookies.get(CSRF_COOKIE) or ""
    current = Visit(
        session_id=session_id if data is not None else None,
        data=data or {},
        anonymous_csrf=anonymous or secrets.token_urlsafe(32),
        locale=i18n.pick(
            (data or {}).get("locale") or request.cookies.get(LANG_COOKIE),
            settings.default_locale,
        ),
    )
    if not anonymous:
        current.new_cookies[CSRF_COOKIE] = current.anonymous_csrf
    if session_id and data is None:
        current.new_cookies[SESSION_COOKIE] = ""  # ended: forget the cookie
    return current


async def finish(
    request: Request, response: Response, current: Visit, sessions: Sessions, settings: Settings
) -> None:
    if current.dirty and current.session_id:
        await sessions.save(current.session_id, current.data, settings.session_idle_minutes * 60)
    secure = settings.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    for name, value in current.new_cookies.items():
        if value:
            response.set_cookie(
                name, value, httponly=True, secure=secure, samesite="lax", path="/",
                max_age=None if name == SESSION_COOKIE else 365 * 24 * 3600,
            )  # fmt: skip
        else:
            response.delete_cookie(name, path="/")
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    if current.signed_in:
        response.headers.setdefault("Cache-Control", "no-store")


def page_context(current: Visit) -> dict[str, Any]:
    me = None
    if current.signed_in:
        me = {
            **current.user,
            "company": current.data.get("company", ""),
            "time_zone": current.time_zone,
        }
    return {"me": me, "csrf": current.csrf, "locale": current.locale}
