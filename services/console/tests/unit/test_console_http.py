"""The console on fakes: sign-in and its limits, the session cookie, CSRF, sign-out, errors
beside their fields, error pages, security headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import console_tests_fakes as fakes
import httpx
import pytest

from console.errors import ApiError
from console.main import create_app
from console.settings import Settings
from testkit.asgi import started

USER = {"id": "u1", "name": "Ada", "email": "ada@example.com", "role": "member", "signature": ""}
SESSION = {"key_id": "k1", "api_key": "bm_k1_secret", "expires_at": "2030-01-01T12:00:00Z",
           "user": USER, "company_name": "Acme KK"}  # fmt: skip


@pytest.fixture
def backend() -> fakes.FakeBackend:
    backend = fakes.FakeBackend()
    backend.on("composer", "POST", "/v1/auth/login", SESSION)
    backend.on("composer", "GET", "/v1/tenant", {"time_zone": "Asia/Tokyo"})
    backend.on("composer", "POST", "/v1/auth/logout", None)
    backend.on("composer", "GET", "/v1/campaigns", {"items": [], "next_cursor": None})
    return backend


@pytest.fixture
async def console(backend: fakes.FakeBackend) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    sessions, limiter = fakes.FakeSessions(), fakes.FakeLimiter()
    settings = Settings(login_limit_per_address=3)
    app = create_app(settings, build=fakes.fake_build(sessions, limiter, backend))
    async with started(app) as service:
        # A crash is answered by its page, as uvicorn would send it; httpx must not re-raise.
        transport = httpx.ASGITransport(app=service, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
            yield http, sessions


def token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, password: str = "pw") -> httpx.Response:
    page = await http.get("/login")
    form = {"csrf_token": token(page), "email": "ada@example.com", "password": password}
    return await http.post("/login", data=form)


async def test_pages_behind_sign_in_send_to_the_sign_in_page(console) -> None:
    http, _ = console
    response = await http.get("/campaigns?folder=sent")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/campaigns%3Ffolder%3Dsent"


async def test_sign_in_sets_an_httponly_samesite_cookie_and_keeps_the_key_server_side(
    console, backend
) -> None:
    http, sessions = console
    response = await sign_in(http)
    assert response.status_code == 303 and response.headers["location"] == "/campaigns"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "console_session" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    [stored] = sessions.data.values()
    assert stored["key"] == "bm_k1_secret" and "bm_k1_secret" not in cookie
    page = await http.get("/campaigns")
    assert page.status_code == 200 and "Ada" in page.text
    assert backend.calls[-1][1].key == "bm_k1_secret"  # the API was called with the user's key
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_a_form_without_its_csrf_token_is_refused(console) -> None:
    http, sessions = console
    await sign_in(http)
    refused = await http.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert sessions.data  # still signed in


async def test_sign_out_revokes_the_key_and_destroys_the_session(console, backend) -> None:
    http, sessions = console
    await sign_in(http)
    page = await http.get("/campaigns")
    response = await http.post("/logout", data={"csrf_token": token(page)})
    assert response.headers["location"] == "/login?signed_out=1"
    assert not sessions.data
    assert backend.sent("POST", "/v1/auth/logout")
    assert (await http.get("/campaigns")).status_code == 303


async def test_a_refused_sign_in_shows_the_reason_by_its_field(console, backend) -> None:
    http, _ = console
    backend.on("composer", "POST", "/v1/auth/login", ApiError(401, {
        "detail": "password: wrong",
        "errors": [{"field": "password", "reason": "email address or password is incorrect"}],
    }))  # fmt: skip
    page = await sign_in(http, "wrong")
    assert page.status_code == 200
    assert 'class="error-summary"' in page.text
    assert 'id="password-error"' in page.text and "メールアドレスまたはパスワード" in page.text


async def test_failed_sign_ins_are_limited_per_address(console, backend) -> None:
    http, _ = console
    backend.on("composer", "POST", "/v1/auth/login", ApiError(401, {"errors": []}))
    for _ in range(3):
        await sign_in(http, "wrong")
    backend.on("composer", "POST", "/v1/auth/login", SESSION)
    page = await sign_in(http)
    assert "ログインの試行回数が多すぎます" in page.text
    assert len(backend.sent("POST", "/v1/auth/login")) == 3  # the composer was not asked


async def test_an_address_in_several_companies_is_asked_for_the_company(console, backend) -> None:
    http, _ = console
    tenants = [{"id": "t1", "company_name": "First KK"}, {"id": "t2", "company_name": "Second"}]
    backend.on("composer", "POST", "/v1/auth/login", ApiError(422, {
        "errors": [{"field": "tenant_id", "reason": "choose"}], "tenants": tenants,
    }))  # fmt: skip
    first = await sign_in(http)
    assert '<select class="select" id="tenant_id"' in first.text and "Second" in first.text
    login = await http.get("/login")
    assert 'id="tenant_id"' not in login.text  # shown only when needed


async def test_an_expired_key_ends_the_session(console, backend) -> None:
    http, sessions = console
    await sign_in(http)
    backend.on("composer", "GET", "/v1/campaigns", ApiError(401, {"errors": []}))
    response = await http.get("/campaigns")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert not sessions.data


async def test_unknown_pages_and_crashes_get_pages_of_their_own(console, backend) -> None:
    http, _ = console
    await sign_in(http)
    missing = await http.get("/no/such/page")
    assert missing.status_code == 404 and "ページが見つかりません" in missing.text
    backend.on("composer", "GET", "/v1/campaigns", lambda _: 1 / 0)
    crashed = await http.get("/campaigns")
    assert crashed.status_code == 500 and "問題が発生しました" in crashed.text
    assert "Traceback" not in crashed.text


async def test_the_language_is_chosen_with_a_form(console) -> None:
    http, _ = console
    page = await http.get("/login")
    response = await http.post(
        "/locale", data={"csrf_token": token(page), "locale": "en", "back": "/login"}
    )
    assert response.headers["location"] == "/login"
    assert "Sign in" in (await http.get("/login")).text


async def test_a_redirect_after_sign_in_stays_on_this_site(console) -> None:
    http, _ = console
    page = await http.get("/login")
    form = {"csrf_token": token(page), "email": "a@b.c", "password": "pw", "next": "//evil.example"}
    response = await http.post("/login", data=form)
    assert response.headers["location"] == "/campaigns"


async def compose(http: httpx.AsyncClient) -> tuple[str, str]:
    """Signs in and opens a new composition; (its path, the page's CSRF token)."""
    await sign_in(http)
    opened = await http.get("/campaigns/new")
    path = opened.headers["location"]
    return path, token(await http.get(path))


async def test_a_composition_is_saved_with_the_composers_refusals_by_field(
    console, backend
) -> None:
    http, _ = console
    path, csrf = await compose(http)
    backend.on("recipients", "POST", "/v1/audience/count", ApiError(404, {}))
    backend.on("composer", "POST", "/v1/campaigns", ApiError(422, {"errors": [
        {"field": "subject", "reason": "is required"},
        {"field": "body", "reason": "html_body or text_body is required"},
    ]}))  # fmt: skip
    page = await http.post(
        path, data={"csrf_token": csrf, "action": "save", "footer_enabled": "on"}
    )
    assert page.status_code == 200
    assert 'id="subject-error"' in page.text and "必須項目です" in page.text
    assert 'id="html_body-error"' in page.text
    assert 'href="#subject"' in page.text  # the summary links to the field
    backend.on("composer", "POST", "/v1/campaigns", {"id": "c1"})
    saved = await http.post(path, data={"csrf_token": csrf, "action": "save", "subject": "Hi"})
    assert saved.status_code == 303
    [body] = [call.json for call in backend.sent("POST", "/v1/campaigns")][-1:]
    assert body["subject"] == "Hi" and body["footer_enabled"] is False


async def test_a_preview_is_rendered_for_a_customer_in_a_sandboxed_frame(console, backend) -> None:
    http, _ = console
    path, csrf = await compose(http)
    backend.on("composer", "POST", "/v1/campaigns", {"id": "c1"})
    backend.on("recipients", "POST", "/v1/audience/count", ApiError(404, {}))
    backend.on("recipients", "GET", "/v1/customers", {"items": [{"id": "k1"}], "next_after": None})
    backend.on("composer", "POST", "/v1/campaigns/c1/preview", {
        "to": "a@example.com", "from": "Ada <ada@example.com>", "reply_to": None,
        "subject": "Hello Yamada", "html": "<p style='color:red'>Hi</p><script>x()</script>",
        "text": "Hi",
    })  # fmt: skip
    form = {"csrf_token": csrf, "action": "preview", "preview_email": "a@example.com"}
    page = await http.post(path, data=form)
    assert "Hello Yamada" in page.text and "preview__frame" in page.text
    assert backend.sent("POST", "/v1/campaigns/c1/preview")[0].json == {"customer_id": "k1"}
    frame = await http.get(path + "/preview.html")
    assert "sandbox" in frame.headers["content-security-policy"]
    assert "script-src" not in frame.headers["content-security-policy"]
    backend.on("composer", "PATCH", "/v1/campaigns/c1", {"id": "c1"})
    backend.on("composer", "POST", "/v1/campaigns/c1/test-send", {"to": "ada@example.com"})
    sent = await http.post(path, data=form | {"action": "test_send"})
    assert sent.status_code == 303
    assert "ada@example.com にテストメールを送信しました" in (await http.get(path)).text
