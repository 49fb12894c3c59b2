"""What the console asks besides the plain API: customer search and the audience count."""

from __future__ import annotations

from typing import Any

from .conftest import Service


async def create(service: Service, auth: dict[str, str], **fields: Any) -> str:
    response = await service.http.post("/v1/customers", json=fields, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_search_finds_part_of_address_name_or_company(service: Service) -> None:
    auth = service.keys.add()
    yamada = await create(service, auth, email="yamada@ex.jp", last_name="山田", first_name="太郎")
    acme = await create(service, auth, email="x_1@ex.jp", company="ACME 株式会社")
    await create(service, auth, email="other@ex.jp")
    other_tenant = service.keys.add()
    await create(service, other_tenant, email="yamada@ex.jp")

    async def found(text: str) -> list[str]:
        page = await service.http.get("/v1/customers", params={"q": text}, headers=auth)
        assert page.status_code == 200, page.text
        return [c["id"] for c in page.json()["items"]]

    assert await found("YAMADA") == [yamada]
    assert await found("山田 太郎") == [yamada]
    assert await found("山田太郎") == [yamada]
    assert await found("acme") == [acme]
    assert await found("x_") == [acme]  # _ is a character here, not a wildcard
    assert await found("%") == []


async def test_the_audience_is_counted_by_reason(service: Service) -> None:
    auth = service.keys.add()
    ids = [await create(service, auth, email=f"c{i}@ex.jp", last_name="" if i else "A")
           for i in range(4)]  # fmt: skip
    group = (await service.http.post("/v1/groups", json={"name": "g"}, headers=auth)).json()
    out = (await service.http.post("/v1/groups", json={"name": "out"}, headers=auth)).json()
    await service.http.post(
        f"/v1/groups/{group['id']}/members", json={"customer_ids": ids}, headers=auth
    )
    await service.http.put(f"/v1/groups/{out['id']}/members/{ids[1]}", headers=auth)
    body = {
        "recipients": {
            "include_group_ids": [group["id"]],
            "exclude_group_ids": [out["id"]],
            "excluded_customer_ids": [ids[2]],
        },
        "merge_fields": ["last_name"],
        "exclude_missing_merge": True,
    }
    response = await service.http.post("/v1/audience/count", json=body, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "total": 1,
        "excluded": {"excluded_group": 1, "excluded_customer": 1, "missing_merge_value": 1},
        "excluded_total": 3,
    }
