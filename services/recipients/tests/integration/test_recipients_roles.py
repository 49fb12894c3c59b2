"""The role matrix of SPEC §11 in recipients, one test per action and role: reading is open
to members; creating, editing, importing and deleting customers and groups, and
unsubscribing a customer on their behalf, need a manager; lifting an opt-out needs an
admin. A refusal is 403 in the platform's error shape."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from servicekit.auth import Role

from .conftest import Service

CSV = {"Content-Type": "text/csv"}


@dataclass
class Scene:
    """One tenant's customer and group, made by its admin, and a key per role."""

    service: Service
    keys: dict[Role, dict[str, str]]
    customer: str
    group: str

    async def new_customer(self) -> str:
        email = f"c-{uuid.uuid4().hex[:8]}@example.com"
        response = await self.service.http.post(
            "/v1/customers", json={"email": email}, headers=self.keys[Role.ADMIN]
        )
        return str(response.json()["id"])

    async def new_group(self) -> str:
        response = await self.service.http.post(
            "/v1/groups", json={"name": "g"}, headers=self.keys[Role.ADMIN]
        )
        return str(response.json()["id"])


Action = Callable[[Scene, httpx.AsyncClient, dict[str, str]], Awaitable[httpx.Response]]


async def list_customers(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.get("/v1/customers", headers=auth)


async def read_customer(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.get(f"/v1/customers/{s.customer}", headers=auth)


async def list_groups(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.get("/v1/groups", headers=auth)


async def read_group(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.get(f"/v1/groups/{s.group}", headers=auth)


async def list_members(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.get(f"/v1/groups/{s.group}/members", headers=auth)


async def create_customer(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    return await http.post("/v1/customers", json={"email": email}, headers=auth)


async def edit_customer(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.patch(f"/v1/customers/{s.customer}", json={"company": "x"}, headers=auth)


async def set_owner(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    owner = s.service.owner_for(auth)
    body = {"owner_user_id": owner}
    return await http.patch(f"/v1/customers/{s.customer}", json=body, headers=auth)


async def group_check(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.post("/v1/groups/check", json={"group_ids": [s.group]}, headers=auth)


async def import_customers(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    body = f"email\nimp-{uuid.uuid4().hex[:8]}@example.com\n".encode()
    return await http.post("/v1/customers/import", content=body, headers=auth | CSV)


async def delete_customer(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.delete(f"/v1/customers/{await s.new_customer()}", headers=auth)


async def unsubscribe_customer(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.post(f"/v1/customers/{await s.new_customer()}/unsubscribe", headers=auth)


async def create_group(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.post("/v1/groups", json={"name": "new"}, headers=auth)


async def edit_group(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.patch(f"/v1/groups/{s.group}", json={"description": "x"}, headers=auth)


async def delete_group(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.delete(f"/v1/groups/{await s.new_group()}", headers=auth)


async def add_members(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    body = {"customer_ids": [s.customer]}
    return await http.post(f"/v1/groups/{s.group}/members", json=body, headers=auth)


async def add_member(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.put(f"/v1/groups/{s.group}/members/{s.customer}", headers=auth)


async def remove_member(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    customer = await s.new_customer()
    url = f"/v1/groups/{s.group}/members/{customer}"
    await http.put(url, headers=s.keys[Role.ADMIN])
    return await http.delete(url, headers=auth)


async def import_members(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    body = f"customer_id\n{s.customer}\n".encode()
    return await http.post(f"/v1/groups/{s.group}/members/import", content=body, headers=auth | CSV)


async def list_suppressions(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.get("/v1/suppressions", headers=auth)


async def export_suppressions(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    return await http.get("/v1/suppressions/export", headers=auth)


async def lift_suppression(s: Scene, http: httpx.AsyncClient, auth: dict[str, str]) -> Any:
    admin = s.keys[Role.ADMIN]
    customer = await s.new_customer()
    email = (await http.post(f"/v1/customers/{customer}/unsubscribe", headers=admin)).json()
    found = await http.get("/v1/suppressions", params={"address": email["email"]}, headers=admin)
    [entry] = found.json()["items"]
    body = {"reason": "asked to receive mail again"}
    return await http.post(f"/v1/suppressions/{entry['id']}/lift", json=body, headers=auth)


MATRIX: list[tuple[Action, Role]] = [
    (list_customers, Role.MEMBER),
    (read_customer, Role.MEMBER),
    (list_groups, Role.MEMBER),
    (read_group, Role.MEMBER),
    (list_members, Role.MEMBER),
    (group_check, Role.MEMBER),
    (set_owner, Role.MANAGER),
    (create_customer, Role.MANAGER),
    (edit_customer, Role.MANAGER),
    (import_customers, Role.MANAGER),
    (delete_customer, Role.MANAGER),
    (unsubscribe_customer, Role.MANAGER),
    (create_group, Role.MANAGER),
    (edit_group, Role.MANAGER),
    (delete_group, Role.MANAGER),
    (add_members, Role.MANAGER),
    (add_member, Role.MANAGER),
    (remove_member, Role.MANAGER),
    (import_members, Role.MANAGER),
    (list_suppressions, Role.MEMBER),
    (export_suppressions, Role.MEMBER),
    (lift_suppression, Role.ADMIN),
]
CELLS = [
    pytest.param(action, needed, role, id=f"{action.__name__}-{role}")
    for action, needed in MATRIX
    for role in Role
]


@pytest.fixture(scope="module")
async def scene(service: Service) -> Scene:
    admin = service.keys.add(role=Role.ADMIN)
    tenant = service.keys.principal(admin).tenant_id
    keys = {role: service.keys.add(tenant, role) for role in (Role.MEMBER, Role.MANAGER)}
    keys[Role.ADMIN] = admin
    scene = Scene(service, keys, customer="", group="")
    scene.customer, scene.group = await scene.new_customer(), await scene.new_group()
    return scene


@pytest.mark.parametrize(("action", "needed", "role"), CELLS)
async def test_role_matrix(scene: Scene, action: Action, needed: Role, role: Role) -> None:
    response = await action(scene, scene.service.http, scene.keys[role])
    if role >= needed:
        assert response.status_code < 400, response.text
        return
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["errors"] == [
        {"field": "role", "reason": f"needs role {needed} or above; this key's user is a {role}"}
    ]
