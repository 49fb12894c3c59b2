"""The composer's and recipients' HTTP APIs, called with the signed-in user's key."""

from __future__ import annotations

from typing import Any

import httpx

from console.errors import ApiError, Unavailable
from console.ports import ApiCall, Service


class HttpBackend:
    def __init__(self, clients: dict[Service, httpx.AsyncClient]) -> None:
        self._clients = clients

    async def call(self, service: Service, call: ApiCall) -> Any:
        headers = dict(call.headers or {})
        if call.key:
            headers["Authorization"] = f"Bearer {call.key}"
        try:
            response = await self._clients[service].request(
                call.method,
                call.path,
                json=call.json,
                params=call.params,
                content=call.content,
                headers=headers,
            )
        except httpx.TransportError as exc:
            raise Unavailable(f"{service}: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:500]}
            raise ApiError(response.status_code, body)
        return response.json() if response.content else None
