"""Public tracking endpoints as FastAPI routes.

`GET /o/...` and `GET /c/...` are normally answered by the fast path in front of the app
(`tracking.fastpath`) before they reach these routes; the routes give the same replies
(from the same `HitEndpoints`) and document them in the OpenAPI document.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.requests import ClientDisconnect

from tracking import metrics, pages
from tracking.handlers import unsubscribe, unsubscribe_claims
from tracking.hits import UNAVAILABLE, HitEndpoints, Reply

router = APIRouter(tags=["tracking"])

_NO_STORE = {"Cache-Control": "no-store, max-age=0"}
_BAD_UNSUBSCRIBES = metrics.REJECTED_TOKENS.labels("unsubscribe")
_UNSUBSCRIBES = metrics.HITS.labels("unsubscribe")


def _response(reply: Reply) -> Response:
    return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))


def _not_found() -> Response:
    return PlainTextResponse("not found\n", status_code=404, headers=_NO_STORE)


# Decorators apply bottom up: the open pixel stays the first route, as documented.
@router.get(
    "/c/{token}",
    summary="Click redirect",
    description="302 to the URL inside the signed token (never one from the request), "
    "after `Clicked` was acknowledged by Kafka. A bad token, or a URL that is not http(s), "
    "gets a plain 404 and no event.",
    response_class=Response,
    responses={302: {"description": "Redirect to the link of the message"}, 404: {}},
    name="click",
)
@router.get(
    "/o/{token}",
    summary="Open pixel",
    description="A 43-byte transparent GIF, never cached. A valid token records `Opened` "
    "(answered once Kafka acknowledged it); any other token gets the image and no event.",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}}},
    name="open_pixel",
)
async def hit(token: str, request: Request) -> Response:
    """The open pixel or the click redirect, answered by `HitEndpoints` as on the fast path."""
    hits: HitEndpoints = request.state.hits
    reply = hits.click_reply if request.url.path.startswith("/c/") else hits.pixel_reply
    return _response(await reply(token, request.headers.get("user-agent", "")))


@router.get(
    "/u/{token}",
    summary="Unsubscribe confirmation page",
    description="Shows a page (Japanese and English) with a button that POSTs back. "
    "Never unsubscribes by itself: link scanners follow GETs.",
    response_class=HTMLResponse,
)
async def unsubscribe_page(token: str, request: Request) -> Response:
    if unsubscribe_claims(token, tokens=request.state.ports.tokens) is None:
        _BAD_UNSUBSCRIBES.inc()
        return _not_found()
    return HTMLResponse(pages.confirm_page(request.url.path), headers=_NO_STORE)


@router.post(
    "/u/{token}",
    summary="Unsubscribe",
    description="Unsubscribes the customer (publishes `Unsubscribed`). RFC 8058 one-click: "
    "a body `List-Unsubscribe=One-Click` (form-encoded or multipart); the confirmation "
    "form posts `confirm=1`. Anything else is a 400; a bad token a 404.",
    response_class=HTMLResponse,
)
async def unsubscribe_post(token: str, request: Request) -> Response:
    try:
        body = await request.body()
    except ClientDisconnect:  # or cut off by the front: a body over its cap
        return Response(status_code=400)
    method = _unsubscribe_method(request.headers.get("content-type", ""), body)
    if method is None:
        return PlainTextResponse("bad request\n", status_code=400, headers=_NO_STORE)
    try:
        event = await unsubscribe(
            token,
            method,
            tokens=request.state.ports.tokens,
            publisher=request.state.ports.publisher,
        )
    except Exception:
        metrics.PUBLISH_FAILURES.inc()
        return _response(UNAVAILABLE)
    if event is None:
        _BAD_UNSUBSCRIBES.inc()
        return _not_found()
    _UNSUBSCRIBES.inc()
    return HTMLResponse(pages.done_page(), headers=_NO_STORE)


def _unsubscribe_method(content_type: str, body: bytes) -> Literal["one_click", "form"] | None:
    fields = _form_fields(content_type, body)
    if "One-Click" in fields.get("List-Unsubscribe", []):
        return "one_click"
    if any(fields.get("confirm", [])):
        return "form"
    return None


def _form_fields(content_type: str, body: bytes) -> dict[str, list[str]]:
    """Fields of an urlencoded or multipart/form-data body (RFC 8058 allows both)."""
    if content_type.lower().startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        fields: dict[str, list[str]] = {}
        for part in message.walk():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields.setdefault(name, []).append(payload.decode("utf-8", "replace").strip())
        return fields
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
