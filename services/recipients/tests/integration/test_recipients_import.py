"""Bulk imports of customers and memberships: CSV and NDJSON, rejects, all or nothing."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Service

CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}


async def post(
    service: Service, url: str, body: bytes, auth: dict[str, str], headers: dict[str, str], **q: Any
) -> Any:
    return await service.http.post(url, content=body, headers=auth | headers, params=q)


async def customers(service: Service, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    page = await service.http.get("/v1/customers", params={"limit": 1000}, headers=auth)
    return {c["email"]: c for c in page.json()["items"]}


async def test_csv_import_creates_customers_and_reports_rejected_rows(service: Service) -> None:
    auth = service.keys.add()
    owner = service.owner_for(auth)
    await service.http.post("/v1/customers", json={"email": "Taken@example.com"}, headers=auth)
    body = (
        "email,last_name,first_name,company,owner_user_id,attr.plan\n"
        f"a@example.com,山田,太郎,Acme,{owner},gold\n"
        "not-an-address,x,,,,\n"
        "A@EXAMPLE.COM,dup,,,,\n"
        "taken@EXAMPLE.com,exists,,,,\n"
        "b@example.com,,,,not-a-uuid,\n"
        'c@example.com,"Line\nbreak",,,,\n'
    ).encode()

    response = await post(service, "/v1/customers/import", body, auth, CSV)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["format"] == "csv" and report["rows"] == 6
    assert report["inserted"] == 2 and report["rejected"] == 4
    assert report["rejected_by_reason"] == {
        "invalid_address": 1,
        "duplicate": 2,
        "invalid_owner": 1,
    }
    assert [(r["line"], r["value"], r["reason"]) for r in report["rejects"]] == [
        (3, "not-an-address", "invalid_address"),
        (4, "A@EXAMPLE.COM", "duplicate"),
        (5, "taken@EXAMPLE.com", "duplicate"),
        (6, "b@example.com", "invalid_owner"),
    ]
    stored = await customers(service, auth)
    assert set(stored) == {"Taken@example.com", "a@example.com", "c@example.com"}
    a = stored["a@example.com"]
    assert (a["last_name"], a["company"], a["owner_user_id"]) == ("山田", "Acme", str(owner))
    assert (
        a["attributes"] == {"plan": "gold"}
        and stored["c@example.com"]["last_name"] == "Line\nbreak"
    )
    assert stored["c@example.com"]["attributes"] == {}


async def test_ndjson_import_with_update_of_existing_customers(service: Service) -> None:
    auth = service.keys.add()
    await service.http.post(
        "/v1/customers",
        json={
            "email": "old@example.com",
            "last_name": "Old",
            "company": "Keep",
            "attributes": {"a": "1"},
        },
        headers=auth,
    )
    lines = [
        {"email": "OLD@example.com", "last_name": "New", "attributes": {"b": "2"}},
        {"email": "fresh@example.com", "first_name": "花子"},
    ]
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()

    response = await post(service, "/v1/customers/import", body, auth, NDJSON, on_existing="update")

    report = response.json()
    assert (report["inserted"], report["updated"], report["rejected"]) == (1, 1, 0)
    stored = await customers(service, auth)
    old = stored["old@example.com"]
    assert (old["last_name"], old["company"]) == ("New", "Keep")
    assert old["attributes"] == {"a": "1", "b": "2"}
    assert stored["fresh@example.com"]["first_name"] == "花子"


async def test_an_unreadable_file_imports_nothing(service: Service) -> None:
    auth = service.keys.add()
    good = "".join(f"ok{i}@example.com,x\n" for i in range(5000))
    body = ("email,last_name\n" + good + "broken@example.com\n" + good).encode()

    response = await post(service, "/v1/customers/import", body, auth, CSV)

    assert response.status_code == 422
    assert response.json()["line"] == 5002
    assert await customers(service, auth) == {}


async def test_unsupported_content_types_are_refused(service: Service) -> None:
    auth = service.keys.add()
    response = await post(
        service, "/v1/customers/import", b"{}", auth, {"Content-Type": "application/json"}
    )
    assert response.status_code == 415


async def test_membership_import_by_id_or_address(service: Service) -> None:
    auth = service.keys.add()
    ids = {}
    for name in ("a", "b", "c"):
        created = await service.http.post(
            "/v1/customers", json={"email": f"{name}@example.com"}, headers=auth
        )
        ids[name] = created.json()["id"]
    group = (await service.http.post("/v1/groups", json={"name": "g"}, headers=auth)).json()
    url = f"/v1/groups/{group['id']}/members"
    await service.http.put(f"{url}/{ids['c']}", headers=auth)
    foreign = (
        await service.http.post(
            "/v1/customers", json={"email": "x@example.com"}, headers=service.keys.add()
        )
    ).json()["id"]
    body = (
        "customer_id,email\n"
        f"{ids['a']},\n"
        ",B@example.com\n"
        f"{ids['c']},\n"
        ",a@example.com\n"
        f"{foreign},\n"
        ",nobody@example.com\n"
        "not-a-uuid,\n"
        ",bad address\n"
    ).encode()

    response = await post(service, f"{url}/import", body, auth, CSV)

    report = response.json()
    assert (report["rows"], report["inserted"], report["unchanged"]) == (8, 2, 1)
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [
        (5, "duplicate"),
        (6, "unknown_customer"),
        (7, "unknown_customer"),
        (8, "invalid_customer_id"),
        (9, "invalid_address"),
    ]
    members = (await service.http.get(url, headers=auth)).json()["items"]
    assert sorted(m["id"] for m in members) == sorted(ids.values())

    ndjson = f'{{"customer_id": "{ids["a"]}"}}\n'.encode()
    again = (await post(service, f"{url}/import", ndjson, auth, NDJSON)).json()
    assert (again["inserted"], again["unchanged"]) == (0, 1)


async def test_importing_into_another_tenants_group_is_not_found(service: Service) -> None:
    theirs = service.keys.add()
    group = (await service.http.post("/v1/groups", json={"name": "g"}, headers=theirs)).json()
    body = b"email\nx@example.com\n"
    response = await post(
        service, f"/v1/groups/{group['id']}/members/import", body, service.keys.add(), CSV
    )
    assert response.status_code == 404
