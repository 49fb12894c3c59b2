"""The recipients service's HTTP API, called on behalf of the user making the request."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx

from composer.ports import Resolved
from contracts import CampaignScheduled, RecipientResolved, encode
from servicekit.errors import FieldError, Forbidden, Invalid, NotFound, Unavailable


class RecipientsApi:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def recipient(self, campaign: CampaignScheduled, api_key: str) -> Resolved:
        body = await self._post("/v1/recipients/preview", encode(campaign), api_key)
        return Resolved(RecipientResolved.model_validate(body["recipient"]), body["excluded"])

    async def unknown_groups(self, group_ids: list[UUID], api_key: str) -> list[UUID]:
        content = json.dumps({"group_ids": [str(g) for g in group_ids]}).encode()
        body = await self._post("/v1/groups/check", content, api_key)
        return [UUID(g) for g in body["unknown"]]

    async def _post(self, path: str, content: bytes, api_key: str) -> Any:
        try:
            response = await self._client.post(
                path,
                content=content,
                headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable("the recipients service") from exc
        if response.status_code == 200:
            return response.json()
        if response.status_code == 404:
            raise NotFound("customer")
        if response.status_code == 422:
            raise Invalid(_errors(response))
        if response.status_code == 403:
            raise Forbidden(None, "the recipients service refused this user")
        raise Unavailable("the recipients service")


def _errors(response: httpx.Response) -> list[FieldError]:
    try:
        items = response.json()["errors"]
        return [FieldError(e.get("field"), e["reason"]) for e in items]
    except (ValueError, KeyError, TypeError):
        return [FieldError(None, "the recipients service refused the request")]
