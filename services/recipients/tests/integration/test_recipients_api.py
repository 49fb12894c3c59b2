"""The HTTP API on real PostgreSQL: customers, groups, suppression state, tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

from contracts import Bounced, Event, Unsubscribed, topics
from testkit.waiting import until

from .conftest import Service


async def create(service: Service, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await service.http.post("/v1/customers", json=fields, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def test_customers_are_created_read_edited_and_deleted(service: Service) -> None:
    auth = service.keys.add()
    owner = service.owner_for(auth)
    created = await create(
        service,
        auth,
        email=" Yamada@Example.jp ",
        last_name="山田",
        first_name="太郎",
        company="Acme",
        attributes={"plan": "gold"},
        owner_user_id=owner,
    )
    assert created["email"] == "Yamada@Example.jp" and created["owner_user_id"] == owner
    assert created["unsubscribed"] is False and created["bounced"] is False
    url = f"/v1/customers/{created['id']}"

    patched = await service.http.patch(
        url, json={"company": "Beta", "owner_user_id": None}, headers=auth
    )
    assert patched.status_code == 200
    assert patched.json()["company"] == "Beta" and patched.json()["owner_user_id"] is None
    assert patched.json()["last_name"] == "山田" and patched.json()["attributes"] == {
        "plan": "gold"
    }

    found = await service.http.get(
        "/v1/customers", params={"email": "YAMADA@example.JP"}, headers=auth
    )
    assert [c["id"] for c in found.json()["items"]] == [created["id"]]

    assert (await service.http.delete(url, headers=auth)).status_code == 204
    assert (await service.http.get(url, headers=auth)).status_code == 404


async def test_an_address_is_taken_whatever_its_case(service: Service) -> None:
    auth = service.keys.add()
    first = await create(service, auth, email="a@example.com")
    again = await service.http.post("/v1/customers", json={"email": "A@EXAMPLE.com"}, headers=auth)
    assert again.status_code == 409
    other = await create(service, auth, email="b@example.com")
    clash = await service.http.patch(
        f"/v1/customers/{other['id']}", json={"email": "a@Example.com"}, headers=auth
    )
    assert clash.status_code == 409 and first["id"] != other["id"]


async def test_invalid_customers_are_refused_with_every_reason(service: Service) -> None:
    auth = service.keys.add()
    response = await service.http.post(
        "/v1/customers",
        json={"email": "not-an-address", "attributes": {"bad key": "x"}, "company": "x" * 1001},
        headers=auth,
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"email", "company", "attributes.bad key"}


async def test_pages_walk_every_customer_once(service: Service) -> None:
    auth = service.keys.add()
    ids = {(await create(service, auth, email=f"p{i}@example.com"))["id"] for i in range(7)}
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"after": after} if after else {})
        page = (await service.http.get("/v1/customers", params=params, headers=auth)).json()
        seen += [c["id"] for c in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)


async def test_groups_and_memberships(service: Service) -> None:
    auth = service.keys.add()
    a, b = [await create(service, auth, email=f"{n}@example.com") for n in "ab"]
    group = (await service.http.post("/v1/groups", json={"name": " VIP "}, headers=auth)).json()
    assert group["name"] == "VIP"
    members_url = f"/v1/groups/{group['id']}/members"
    stranger = str(uuid.uuid4())

    added = await service.http.post(
        members_url, json={"customer_ids": [a["id"], b["id"], stranger]}, headers=auth
    )
    assert added.json() == {
        "added": [a["id"], b["id"]],
        "already_members": 0,
        "unknown": [stranger],
    }
    again = await service.http.put(f"{members_url}/{a['id']}", headers=auth)
    assert again.status_code == 204
    assert (await service.http.put(f"{members_url}/{stranger}", headers=auth)).status_code == 404

    listed = (await service.http.get(members_url, headers=auth)).json()["items"]
    assert sorted(c["id"] for c in listed) == sorted([a["id"], b["id"]])
    detail = (await service.http.get(f"/v1/groups/{group['id']}", headers=auth)).json()
    assert detail["member_count"] == 2

    assert (await service.http.delete(f"{members_url}/{b['id']}", headers=auth)).status_code == 204
    await service.http.delete(f"/v1/customers/{a['id']}", headers=auth)
    detail = (await service.http.get(f"/v1/groups/{group['id']}", headers=auth)).json()
    assert detail["member_count"] == 0

    assert (await service.http.delete(f"/v1/groups/{group['id']}", headers=auth)).status_code == 204
    assert (await service.http.get(members_url, headers=auth)).status_code == 404


async def test_staff_unsubscribe_is_visible_and_published_once(service: Service) -> None:
    auth = service.keys.add()
    customer = await create(service, auth, email="leave@example.com")
    url = f"/v1/customers/{customer['id']}/unsubscribe"

    first = await service.http.post(url, headers=auth)
    second = await service.http.post(url, headers=auth)

    assert first.json()["unsubscribed"] is True
    assert second.json()["unsubscribed_at"] == first.json()["unsubscribed_at"]
    customer_id = uuid.UUID(customer["id"])

    def mine(events: list[Event]) -> list[Event]:
        return [e for e in events if isinstance(e, Unsubscribed) and e.customer_id == customer_id]

    events = await service.read(topics.UNSUBSCRIBED, until=lambda e: bool(mine(e)), linger=1.0)
    assert [e.method for e in mine(events) if isinstance(e, Unsubscribed)] == ["api"]


async def test_bounces_and_unsubscribes_from_kafka_show_on_the_customer(service: Service) -> None:
    auth = service.keys.add()
    tenant = service.keys.keys[auth["Authorization"].split()[1]].tenant_id
    by_id, by_address, soft, unsub = [
        await create(service, auth, email=f"{n}@example.com") for n in ("hard", "dsn", "soft", "u")
    ]
    await service.publish(
        Bounced(tenant_id=tenant, customer_id=by_id["id"], email="hard@example.com", kind="hard"),
        Bounced(tenant_id=tenant, email="DSN@example.COM", kind="hard", source="dsn"),
        Bounced(tenant_id=tenant, customer_id=soft["id"], email="soft@example.com", kind="soft"),
        Bounced(tenant_id=uuid.uuid4(), email="u@example.com", kind="hard", source="dsn"),
        Unsubscribed(tenant_id=tenant, customer_id=unsub["id"], method="one_click"),
    )

    async def states() -> dict[str, tuple[bool, bool]]:
        result = {}
        for c in (by_id, by_address, soft, unsub):
            body = (await service.http.get(f"/v1/customers/{c['id']}", headers=auth)).json()
            result[c["email"]] = (body["bounced"], body["unsubscribed"])
        return result

    expected = {
        "hard@example.com": (True, False),
        "dsn@example.com": (True, False),
        "soft@example.com": (False, False),
        "u@example.com": (False, True),
    }
    await until(states, lambda found: found == expected, within=20, what="suppressions")


async def test_a_new_address_clears_the_bounce_but_not_the_unsubscribe(service: Service) -> None:
    auth = service.keys.add()
    tenant = service.keys.keys[auth["Authorization"].split()[1]].tenant_id
    customer = await create(service, auth, email="old@example.com")
    url = f"/v1/customers/{customer['id']}"
    await service.http.post(f"{url}/unsubscribe", headers=auth)
    await service.publish(
        Bounced(tenant_id=tenant, customer_id=customer["id"], email="old@example.com", kind="hard")
    )

    async def bounced() -> bool:
        return bool((await service.http.get(url, headers=auth)).json()["bounced"])

    await until(bounced, bool, within=20, what="bounce registered")
    moved = (await service.http.patch(url, json={"email": "new@example.com"}, headers=auth)).json()
    assert moved["bounced"] is False and moved["unsubscribed"] is True


async def test_other_tenants_objects_do_not_exist(service: Service) -> None:
    mine, theirs = service.keys.add(), service.keys.add()
    customer = await create(service, theirs, email="secret@example.com")
    group = (await service.http.post("/v1/groups", json={"name": "theirs"}, headers=theirs)).json()
    customer_url, group_url = f"/v1/customers/{customer['id']}", f"/v1/groups/{group['id']}"

    for method, url, body in [
        ("GET", customer_url, None),
        ("PATCH", customer_url, {"company": "x"}),
        ("DELETE", customer_url, None),
        ("POST", f"{customer_url}/unsubscribe", None),
        ("GET", group_url, None),
        ("PATCH", group_url, {"name": "x"}),
        ("DELETE", group_url, None),
        ("GET", f"{group_url}/members", None),
        ("PUT", f"{group_url}/members/{customer['id']}", None),
        ("POST", f"{group_url}/members", {"customer_ids": [customer["id"]]}),
    ]:
        response = await service.http.request(method, url, json=body, headers=mine)
        assert response.status_code == 404, (method, url, response.text)

    # Their customer cannot join my group, and my lists do not show their objects.
    my_group = (await service.http.post("/v1/groups", json={"name": "mine"}, headers=mine)).json()
    joined = await service.http.post(
        f"/v1/groups/{my_group['id']}/members",
        json={"customer_ids": [customer["id"]]},
        headers=mine,
    )
    assert joined.json()["unknown"] == [customer["id"]]
    assert (await service.http.get("/v1/customers", headers=mine)).json()["items"] == []
    listed = (await service.http.get("/v1/groups", headers=mine)).json()["items"]
    assert [g["id"] for g in listed] == [my_group["id"]]
    found = await service.http.get(
        "/v1/customers", params={"email": customer["email"]}, headers=mine
    )
    assert found.json()["items"] == []
    # Still there for its owner.
    assert (await service.http.get(customer_url, headers=theirs)).json()["unsubscribed"] is False


async def test_requests_without_a_valid_key_are_refused(service: Service) -> None:
    assert (await service.http.get("/v1/customers")).status_code == 401
    bad = {"Authorization": "Bearer bm_nope_nope"}
    assert (await service.http.get("/v1/customers", headers=bad)).status_code == 401
