"""Pages from Jinja2 templates, in the request's language and the tenant's time zone."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console import i18n
from console.errors import FormErrors

TEMPLATES = Path(__file__).with_name("templates")

# Reasons the APIs give with a number in them: translated with the number kept.
_NUMBERED = re.compile(r"\d+")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["reason"] = reason
    env.globals["FormErrors"] = FormErrors
    return env


def reason(text: str) -> str:
    """An API's reason in the page's language: exact texts are in the catalog; those with
    numbers are looked up with the numbers as {n}, {m}."""
    translated = i18n.gettext(text)
    if translated != text:
        return translated
    numbers = _NUMBERED.findall(text)
    if not numbers:
        return text
    names = iter(("n", "m", "k"))
    template = _NUMBERED.sub(lambda _: "{" + next(names, "k") + "}", text)
    found = i18n.gettext(template)
    if found == template:
        return text
    return found.format(**dict(zip(("n", "m", "k"), numbers, strict=False)))


def local_time(value: str | datetime | None, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


class Pages:
    """Renders pages. A form shown again with its errors answers 200, as every page a person
    can reach does: a browser reports any 4xx document as a failed load in its console."""

    def __init__(self) -> None:
        self.env = environment()

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        base = getattr(request.state, "page_context", {})
        zone = (base.get("me") or {}).get("time_zone", "Asia/Tokyo")
        visit = getattr(request.state, "visit", None)
        context = {
            "request": request,
            "flashes": visit.take_flashes() if visit is not None else [],
            "errors": FormErrors(),
            "local": lambda v, fmt="%Y-%m-%d %H:%M": local_time(v, zone, fmt),
            **base,
            **context,
        }
        html = self.env.get_template(template).render(context)
        return HTMLResponse(html, status_code=status)
