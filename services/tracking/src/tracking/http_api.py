"""Public tracking endpoints."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request, Response

from contracts import Opened
from servicekit.tokens import InvalidToken, Kind, TokenCodec

#: The classic 43-byte transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, max-age=0"}

router = APIRouter()


@router.get("/o/{token}", summary="Open pixel", response_class=Response)
async def open_pixel(token: str, request: Request) -> Response:
    codec: TokenCodec = request.app.state.tokens
    try:
        claims = codec.verify(token, Kind.OPEN)
    except InvalidToken:
        # A broken image in a customer's mail helps nobody: answer with the pixel anyway.
        return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)
    await request.app.state.publisher.publish(
        [
            Opened(
                tenant_id=claims.tenant_id,
                campaign_id=claims.campaign_id,
                message_id=claims.message_id,
                customer_id=claims.customer_id,
                notify_user_id=claims.notify_user_id,
                user_agent=request.headers.get("user-agent", "")[:512],
            )
        ]
    )
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)
