"""Opens and clicks straight from the ASGI scope to `HitEndpoints`, before FastAPI.

They are the volume of the service; routing, dependency resolution and response objects
cost several times what these two requests need. Everything else goes to the app.
"""

from __future__ import annotations

from typing import Any

from tracking.hits import HitEndpoints, Reply

ASGIApp = Any


class HitFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            prefix = path[:3]
            if prefix in ("/o/", "/c/"):
                hits: HitEndpoints | None = scope.get("state", {}).get("hits")
                if hits is not None:
                    agent = _user_agent(scope["headers"])
                    if prefix == "/o/":
                        reply = await hits.pixel_reply(path[3:], agent)
                    else:
                        reply = await hits.click_reply(path[3:], agent)
                    await _respond(send, reply)
                    return
        await self.app(scope, receive, send)


def _user_agent(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"user-agent":
            return value.decode("latin-1")
    return ""


async def _respond(send: Any, reply: Reply) -> None:
    await send({"type": "http.response.start", "status": reply.status, "headers": reply.asgi})
    await send({"type": "http.response.body", "body": reply.body})
