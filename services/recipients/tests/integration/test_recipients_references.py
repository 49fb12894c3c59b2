"""References are checked: an owner must be a user of the caller's tenant (asked of the
composer with the caller's key), and group ids can be checked by other services."""

from __future__ import annotations

import uuid
from typing import Any

from servicekit.auth import Role

from .conftest import Service

CSV = {"Content-Type": "text/csv"}


def refused_owner(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "owner_user_id", "reason": "not a user of this tenant"}
    ]


async def test_a_customers_owner_must_be_a_user_of_the_same_tenant(service: Service) -> None:
    auth, other = service.keys.add(), service.keys.add()
    mine, theirs = service.owner_for(auth), service.owner_for(other)

    for owner in (theirs, str(uuid.uuid4())):
        body = {"email": f"o-{uuid.uuid4().hex[:6]}@example.com", "owner_user_id": owner}
        refused_owner(await service.http.post("/v1/customers", json=body, headers=auth))
    created = await service.http.post(
        "/v1/customers", json={"email": "owned@example.com", "owner_user_id": mine}, headers=auth
    )
    assert created.status_code == 201 and created.json()["owner_user_id"] == mine
    assert service.staff.asked_with[-1] == auth["Authorization"].split()[1]

    url = f"/v1/customers/{created.json()['id']}"
    refused_owner(await service.http.patch(url, json={"owner_user_id": theirs}, headers=auth))
    assert (await service.http.get(url, headers=auth)).json()["owner_user_id"] == mine
    cleared = await service.http.patch(url, json={"owner_user_id": None}, headers=auth)
    assert cleared.status_code == 200 and cleared.json()["owner_user_id"] is None


async def test_imported_rows_naming_no_user_of_the_tenant_are_rejected(service: Service) -> None:
    auth, other = service.keys.add(), service.keys.add()
    mine, theirs = service.owner_for(auth), service.owner_for(other)
    body = (
        "email,owner_user_id\n"
        f"a@example.com,{mine}\n"
        f"b@example.com,{theirs}\n"
        f"c@example.com,{uuid.uuid4()}\n"
        "d@example.com,\n"
        "e@example.com,not-a-uuid\n"
    ).encode()
    response = await service.http.post("/v1/customers/import", content=body, headers=auth | CSV)
    report = response.json()
    assert (report["inserted"], report["rejected"]) == (2, 3), report
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [
        (3, "unknown_owner"),
        (4, "unknown_owner"),
        (6, "invalid_owner"),
    ]

    update = f"email,owner_user_id\na@example.com,{theirs}\n".encode()
    again = await service.http.post(
        "/v1/customers/import?on_existing=update", content=update, headers=auth | CSV
    )
    assert again.json()["rejected_by_reason"] == {"unknown_owner": 1}
    found = await service.http.get("/v1/customers", params={"email": "a@example.com"}, headers=auth)
    assert found.json()["items"][0]["owner_user_id"] == mine


async def test_an_import_naming_too_many_owners_is_refused(service: Service) -> None:
    auth = service.keys.add()
    rows = "".join(f"x{n}@example.com,{uuid.uuid4()}\n" for n in range(1001))
    response = await service.http.post(
        "/v1/customers/import", content=f"email,owner_user_id\n{rows}".encode(), headers=auth | CSV
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "owner_user_id"
    assert (await service.http.get("/v1/customers", headers=auth)).json()["items"] == []


async def test_group_ids_are_checked_against_the_callers_tenant(service: Service) -> None:
    manager = service.keys.add()
    member = service.keys.add(service.keys.principal(manager).tenant_id, Role.MEMBER)
    other = service.keys.add()
    mine = (await service.http.post("/v1/groups", json={"name": "m"}, headers=manager)).json()
    theirs = (await service.http.post("/v1/groups", json={"name": "t"}, headers=other)).json()
    missing = str(uuid.uuid4())

    response = await service.http.post(
        "/v1/groups/check",
        json={"group_ids": [theirs["id"], mine["id"], missing, theirs["id"]]},
        headers=member,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"unknown": [theirs["id"], missing]}
    empty = await service.http.post("/v1/groups/check", json={"group_ids": []}, headers=member)
    assert empty.json() == {"unknown": []}
    malformed = await service.http.post(
        "/v1/groups/check", json={"group_ids": ["nope"]}, headers=member
    )
    assert malformed.status_code == 422
