"""The console as an app: ports from `build`, the visitor around each request, the pages,
and error pages for whatever goes wrong (never a stack trace, never a blank page)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from console import bootstrap, i18n
from console.bootstrap import Ports
from console.errors import ApiError, Unavailable
from console.i18n import N_
from console.metrics import API_ERRORS
from console.rendering import Pages
from console.settings import Settings
from console.web import auth, campaigns, compose, customers, groups, picker, settings_pages
from console.web import visit as visits
from servicekit.http import add_operations

Build = Callable[[Settings], AbstractAsyncContextManager[Ports]]
STATIC = Path(__file__).with_name("static")
log = logging.getLogger(__name__)


def create_app(settings: Settings, build: Build = bootstrap.build) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with build(settings) as ports:
            yield {"ports": ports}

    i18n.load()
    # No interactive API documents: the console is pages, and their scripts would break
    # the Content-Security-Policy.
    app = FastAPI(title="console", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    add_operations(app)
    app.state.settings = settings
    app.state.pages = Pages()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # compose first: its /campaigns/new must win over /campaigns/{campaign_id}.
    for module in (auth, compose, campaigns, picker, customers, groups, settings_pages):
        app.include_router(module.router)
    install_visits(app, settings)
    install_error_pages(app)
    return app


def install_visits(app: FastAPI, settings: Settings) -> None:
    @app.middleware("http")
    async def around(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith(("/static/", "/healthz", "/metrics")):
            return await call_next(request)
        sessions = request.state.ports.sessions
        current = await visits.load(request, sessions, settings)
        i18n.activate(current.locale)
        request.state.visit = current
        request.state.page_context = visits.page_context(current)
        response = await call_next(request)
        await visits.finish(request, response, current, sessions, settings)
        return response


def install_error_pages(app: FastAPI) -> None:
    def page(request: Request, status: int, template: str, **context: Any) -> Response:
        pages: Pages = request.app.state.pages
        return pages.render(request, template, status, **context)

    @app.exception_handler(visits.NeedSignIn)
    async def need_sign_in(request: Request, _: Exception) -> Response:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(visits.BadCsrf)
    async def bad_csrf(request: Request, _: Exception) -> Response:
        return page(request, 403, "error.html", title=N_("The form has expired"), code=403)

    @app.exception_handler(ApiError)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        API_ERRORS.labels(str(exc.status)).inc()
        if exc.status == 401:  # the session key expired or was revoked: sign in again
            current: visits.Visit = request.state.visit
            if current.session_id:
                await request.state.ports.sessions.destroy(current.session_id)
            return RedirectResponse("/login", status_code=303)
        if exc.status == 404:
            return page(request, 404, "error.html", title=N_("Page not found"), code=404)
        if exc.status == 403:
            return page(
                request,
                403,
                "error.html",
                title=N_("You cannot do this"),
                code=403,
                problems=exc.problems,
            )
        log.warning("API refusal without a form to show it: %s", exc)
        return page(request, 502, "error.html", title=N_("Something went wrong"), code=exc.status)

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Exception) -> Response:
        log.warning("service unavailable: %s", exc)
        return page(request, 503, "error.html", title=N_("The service is unavailable"), code=503)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return page(request, 404, "error.html", title=N_("Page not found"), code=404)
        return page(request, exc.status_code, "error.html", title=N_("Something went wrong"),
                    code=exc.status_code)  # fmt: skip

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        try:
            return page(request, 500, "error.html", title=N_("Something went wrong"), code=500)
        except Exception:  # the page itself failed: a plain one, still not a trace
            return Response("Internal error", status_code=500, media_type="text/plain")
