"""The composer's users, asked over HTTP with the caller's own key: the composer answers
GET /v1/users/{id} with 404 for an unknown user and for another tenant's alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from uuid import UUID

import httpx
from fastapi import HTTPException


class ComposerStaff:
    """Remembers each answer for `ttl` seconds (a user added a moment ago may wait that
    long, so unknown users are remembered for a shorter time)."""

    def __init__(
        self, client: httpx.AsyncClient, *, ttl: float = 60.0, unknown_ttl: float = 5.0
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._unknown_ttl = unknown_ttl
        self._known: dict[tuple[UUID, UUID], tuple[float, bool]] = {}
        self._parallel = asyncio.Semaphore(8)

    async def unknown(self, api_key: str, tenant_id: UUID, user_ids: Collection[UUID]) -> set[UUID]:
        ids = set(user_ids)
        answers = await asyncio.gather(*(self._is_user(api_key, tenant_id, i) for i in ids))
        return {user_id for user_id, known in zip(ids, answers, strict=True) if not known}

    async def _is_user(self, api_key: str, tenant_id: UUID, user_id: UUID) -> bool:
        now = time.monotonic()
        hit = self._known.get((tenant_id, user_id))
        if hit and hit[0] > now:
            return hit[1]
        async with self._parallel:
            response = await self._client.get(
                f"/v1/users/{user_id}", headers={"Authorization": f"Bearer {api_key}"}
            )
        if response.status_code not in (200, 404):
            raise HTTPException(503, detail="the composer could not confirm the owner")
        known = response.status_code == 200
        if len(self._known) > 100_000:
            self._known.clear()
        self._known[(tenant_id, user_id)] = (
            now + (self._ttl if known else self._unknown_ttl),
            known,
        )
        return known
