"""The role matrix of SPEC §11, one test per cell, through the HTTP API on fakes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from composer_tests_fakes import SECRET, DictVerifier, fake_build

from composer.main import create_app
from composer.settings import Settings
from servicekit.auth import Principal, Role
from testkit.asgi import started

ROLES = ("member", "manager", "admin")
DRAFT = {
    "subject": "Hello",
    "text_body": "Hi {{ first_name }}",
    "recipients": {"customer_ids": [str(uuid.uuid4())]},
}


@dataclass
class World:
    http: httpx.AsyncClient
    store: Any
    tenant: Any
    people: dict[str, Principal]

    async def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.request(
            method, path, headers={"Authorization": f"Bearer {who}"}, **kw
        )

    async def draft_of(self, who: str, **changes: Any) -> str:
        response = await self.call(who, "POST", "/v1/campaigns", json=DRAFT | changes)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@pytest.fixture
async def world(store, clock, tools) -> AsyncIterator[World]:
    verifier = DictVerifier()

    tenant = store.add_tenant()
    people = {
        role: store.add_user(
            tenant, Role.parse(role), signature="sig", email=f"{role}@acme.example"
        )
        for role in ROLES
    }
    people["other"] = store.add_user(tenant, Role.MEMBER, email="other@acme.example")
    verifier.keys.update(people)
    app = create_app(
        Settings(token_secret="unit", signing_keys_secret=SECRET, run_scheduler=False),
        build=fake_build(store, clock, verifier),
    )
    async with started(app) as service, service.client("http://composer") as http:
        yield World(http, store, tenant, people)


def allowed(role: str, least: str) -> bool:
    return ROLES.index(role) >= ROLES.index(least)


def expect(response: httpx.Response, ok: bool) -> None:
    if ok:
        assert response.status_code < 400, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["errors"], "the refusal names what is refused"


@pytest.mark.parametrize("role", ROLES)
async def test_everyone_reads_campaigns_and_progress(world: World, role: str) -> None:
    cid = await world.draft_of("other")
    for path in ("/v1/campaigns", f"/v1/campaigns/{cid}", f"/v1/campaigns/{cid}/progress"):
        expect(await world.call(role, "GET", path), True)


@pytest.mark.parametrize("role", ROLES)
async def test_everyone_composes_edits_and_sends_own_drafts_as_self(
    world: World, role: str
) -> None:
    cid = await world.draft_of(role)
    expect(await world.call(role, "PATCH", f"/v1/campaigns/{cid}", json={"subject": "Hi"}), True)
    expect(await world.call(role, "POST", f"/v1/campaigns/{cid}/send"), True)
    other = await world.draft_of(role)
    at = {"send_at": "2030-01-02T09:00:00+09:00"}
    expect(await world.call(role, "POST", f"/v1/campaigns/{other}/schedule", json=at), True)


SENDER_CHANGES = {
    "changed": {"sender_mode": "changed", "sender_name": "S", "sender_email": "s@acme.example"},
    "on_behalf_user": {"sender_mode": "on_behalf_user"},
    "send_as_owner": {"send_as_owner": True},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("change", sorted(SENDER_CHANGES))
async def test_changing_the_sender_or_sending_as_owner_needs_a_manager(
    world: World, role: str, change: str
) -> None:
    body = dict(SENDER_CHANGES[change])
    if change == "on_behalf_user":
        body["sender_user_id"] = str(world.people["other"].user_id)
    response = await world.call(role, "POST", "/v1/campaigns", json=DRAFT | body)
    expect(response, allowed(role, "manager"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["edit", "send", "schedule", "cancel", "delete"])
async def test_acting_on_another_users_campaign_needs_a_manager(
    world: World, role: str, action: str
) -> None:
    cid = await world.draft_of("other")
    at = {"send_at": "2030-01-02T09:00:00+09:00"}
    if action == "cancel":
        await world.call("other", "POST", f"/v1/campaigns/{cid}/schedule", json=at)
    method, path, body = {
        "edit": ("PATCH", f"/v1/campaigns/{cid}", {"subject": "Hi"}),
        "send": ("POST", f"/v1/campaigns/{cid}/send", None),
        "schedule": ("POST", f"/v1/campaigns/{cid}/schedule", at),
        "cancel": ("POST", f"/v1/campaigns/{cid}/cancel", None),
        "delete": ("DELETE", f"/v1/campaigns/{cid}", None),
    }[action]
    expect(await world.call(role, method, path, json=body), allowed(role, "manager"))


@pytest.mark.parametrize("role", ROLES)
async def test_tenant_settings_need_an_admin(world: World, role: str) -> None:
    response = await world.call(role, "PATCH", "/v1/tenant", json={"contact": "03-1111-2222"})
    expect(response, allowed(role, "admin"))


@pytest.mark.parametrize("role", ROLES)
async def test_users_and_roles_need_an_admin(world: World, role: str) -> None:
    created = await world.call(
        role,
        "POST",
        "/v1/users",
        json={"name": "New", "email": f"new-{role}@acme.example", "role": "member"},
    )
    expect(created, allowed(role, "admin"))
    other = world.people["other"].user_id
    promoted = await world.call(role, "PATCH", f"/v1/users/{other}", json={"role": "manager"})
    expect(promoted, allowed(role, "admin"))


@pytest.mark.parametrize("role", ROLES)
async def test_keys_of_others_need_an_admin(world: World, role: str) -> None:
    other = world.people["other"].user_id
    issued = await world.call(role, "POST", f"/v1/users/{other}/keys")
    expect(issued, allowed(role, "admin"))


@pytest.mark.parametrize("role", ROLES)
async def test_registered_senders_need_an_admin(world: World, role: str) -> None:
    registered = await world.call(
        role, "POST", "/v1/senders", json={"name": "Support", "email": "support@acme.example"}
    )
    expect(registered, allowed(role, "admin"))
    sender = world.store.add_sender(world.tenant, world.people["admin"])
    expect(await world.call(role, "DELETE", f"/v1/senders/{sender.id}"), allowed(role, "admin"))
