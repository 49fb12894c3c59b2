"""Campaigns being composed, kept in the session under a random id each (several tabs may
compose at once), and saved to the composer as drafts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException

from console import composing
from console.errors import ApiError, FormErrors
from console.web.deps import Api, Screen, ScreenDep
from console.web.visit import Visit

MAX_WORKS = 20  # a session holds this many compositions at most; the oldest goes first


def start(visit: Visit, campaign: dict[str, Any] | None = None) -> str:
    works: dict[str, Any] = visit.data.setdefault("works", {})
    while len(works) >= MAX_WORKS:
        works.pop(next(iter(works)))
    work_id = secrets.token_urlsafe(9)
    works[work_id] = composing.new_work(campaign)
    visit.dirty = True
    return work_id


def get(visit: Visit, work_id: str) -> dict[str, Any]:
    work = visit.data.get("works", {}).get(work_id)
    if work is None:
        raise HTTPException(404)
    visit.dirty = True  # the caller changes it in place
    work_dict: dict[str, Any] = work
    return work_dict


@dataclass(frozen=True)
class Draft(Screen):
    """A screen of one composition: its id in the session and the work itself."""

    work_id: str
    work: dict[str, Any]


def draft(work_id: str, screen: ScreenDep) -> Draft:
    work = get(screen.user, work_id)
    return Draft(screen.request, screen.user, screen.api, screen.pages, work_id, work)


DraftDep = Annotated[Draft, Depends(draft)]


def finish(visit: Visit, work_id: str) -> None:
    visit.data.get("works", {}).pop(work_id, None)
    visit.dirty = True


async def save(api: Api, work: dict[str, Any]) -> FormErrors:
    """Stores the work as a draft (created or changed); the composer's refusals by field."""
    body = composing.for_api(work["content"])
    try:
        if work["campaign_id"]:
            await api.composer("PATCH", f"/v1/campaigns/{work['campaign_id']}", json=body)
        else:
            created = await api.composer("POST", "/v1/campaigns", json=body)
            work["campaign_id"] = created["id"]
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        return FormErrors.of(exc, composing.FIELD_OF)
    return FormErrors()


async def labels(api: Api, work: dict[str, Any]) -> dict[str, str]:
    """Names of the chosen groups and customers; a draft opened for editing has only ids."""
    spec = work["content"]["recipients"]
    known: dict[str, str] = work["labels"]
    for group_id in spec["include_group_ids"] + spec["exclude_group_ids"]:
        if group_id not in known:
            known[group_id] = await _label(api, f"/v1/groups/{group_id}", "name")
    for customer_id in (spec["customer_ids"] + spec["excluded_customer_ids"])[:200]:
        if customer_id not in known:
            known[customer_id] = await _label(api, f"/v1/customers/{customer_id}", "email")
    return known


async def _label(api: Api, path: str, field: str) -> str:
    try:
        return str((await api.recipients("GET", path))[field])
    except ApiError as exc:
        if exc.status == 404:
            return "?"
        raise
