"""What a route needs: the ports, the visitor, the pages, and calls on the user's behalf."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from console.ports import ApiCall, Backend, Limiter, Service, Sessions
from console.rendering import Pages
from console.settings import Settings
from console.web.visit import Visit, checked_form, signed_in, visit_of
from servicekit.http import port

BackendDep = Annotated[Backend, Depends(port("backend"))]
SessionsDep = Annotated[Sessions, Depends(port("sessions"))]
LimiterDep = Annotated[Limiter, Depends(port("limiter"))]
VisitDep = Annotated[Visit, Depends(visit_of)]
UserDep = Annotated[Visit, Depends(signed_in)]
FormDep = Annotated[FormData, Depends(checked_form)]


def pages(request: Request) -> Pages:
    found: Pages = request.app.state.pages
    return found


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


PagesDep = Annotated[Pages, Depends(pages)]
SettingsDep = Annotated[Settings, Depends(settings)]


class Api:
    """The platform's APIs with the signed-in user's session key."""

    def __init__(self, backend: Backend, user: Visit) -> None:
        self.backend = backend
        self.user = user

    async def __call__(self, service: Service, method: str, path: str, **kwargs: Any) -> Any:
        return await self.backend.call(service, ApiCall(method, path, self.user.key, **kwargs))

    async def composer(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self("composer", method, path, **kwargs)

    async def recipients(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self("recipients", method, path, **kwargs)


def api(backend: BackendDep, user: UserDep) -> Api:
    return Api(backend, user)


ApiDep = Annotated[Api, Depends(api)]


@dataclass(frozen=True)
class Screen:
    """A signed-in user's page: the request, the user, their APIs and the templates."""

    request: Request
    user: Visit
    api: Api
    pages: Pages

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.pages.render(self.request, template, status, **context)


def screen(request: Request, user: UserDep, api: ApiDep, pages: PagesDep) -> Screen:
    return Screen(request, user, api, pages)


ScreenDep = Annotated[Screen, Depends(screen)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, *names: str) -> dict[str, str]:
    return {name: text(form, name) for name in names}


def local_path(target: str | None, default: str = "/campaigns") -> str:
    """Only a path of this site: never another host (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default
