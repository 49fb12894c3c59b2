"""The composer's and recipients' HTTP APIs, called with the signed-in user's key."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import httpx

from console.errors import ApiError, Unavailable
from console.ports import Service


class HttpBackend:
    def __init__(self, clients: dict[Service, httpx.AsyncClient]) -> None:
        self._clients = clients

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        key: str | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: AsyncIterable[bytes] | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if key:
            sent["Authorization"] = f"Bearer {key}"
        try:
            response = await self._clients[service].request(
                method, path, json=json, params=params, content=content, headers=sent
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
