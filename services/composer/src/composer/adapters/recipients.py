"""The recipients service's HTTP API, called on behalf of the user making the request."""

from __future__ import annotations

import httpx

from composer.ports import Resolved
from contracts import CampaignScheduled, RecipientResolved, encode
from servicekit.errors import FieldError, Forbidden, Invalid, NotFound, Unavailable


class RecipientsApi:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def recipient(self, campaign: CampaignScheduled, api_key: str) -> Resolved:
        try:
            response = await self._client.post(
                "/v1/recipients/preview",
                content=encode(campaign),
                headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable("the recipients service") from exc
        if response.status_code == 200:
            body = response.json()
            return Resolved(RecipientResolved.model_validate(body["recipient"]), body["excluded"])
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
