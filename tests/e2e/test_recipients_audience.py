"""Audiences through the running stack: groups to include and exclude, customers left out one
by one or by staff unsubscribe, each customer mailed once; and API keys of one tenant see
nothing of another's customers (SPEC §2, §3.1, §4.2)."""

from __future__ import annotations

import pytest

import testkit.platform as h
from testkit import sink


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant("E2E 顧客グループ 株式会社")


async def test_groups_exclusions_and_one_mail_per_customer(tenant: h.Tenant) -> None:
    people = tenant.admin.recipients
    names = ["both", "first", "second", "in_excluded", "one_by_one", "unsubscribed"]
    rows = [
        {"email": tenant.address(name), "last_name": "鈴木", "first_name": name} for name in names
    ]
    report = await h.import_customers(people, rows)
    assert report["inserted"] == len(rows)
    by_name = {
        name: (await people.call("GET", "/v1/customers", params={"email": row["email"]}))["items"][
            0
        ]["id"]
        for name, row in zip(names, rows, strict=True)
    }
    first = await h.add_group(people, "first")
    second = await h.add_group(people, "second")
    excluded = await h.add_group(people, "excluded")
    await h.import_members(people, first, [tenant.address(n) for n in names if n != "second"])
    await h.import_members(people, second, [tenant.address("both"), tenant.address("second")])
    await h.import_members(people, excluded, [tenant.address("in_excluded")])
    await people.call("POST", f"/v1/customers/{by_name['unsubscribed']}/unsubscribe")

    sent = await h.send_now(
        tenant.admin.composer,
        [],
        name="グループ宛",
        recipients={
            "include_group_ids": [first, second],
            "exclude_group_ids": [excluded],
            "excluded_customer_ids": [by_name["one_by_one"]],
        },
    )

    assert (sent.progress["total"], sent.progress["sent"]) == (3, 3), sent.progress
    excluded_counts = sent.progress["excluded"]
    assert excluded_counts.get("excluded_group") == 1, sent.progress
    assert excluded_counts.get("excluded_customer") == 1, sent.progress
    assert excluded_counts.get("unsubscribed") == 1, sent.progress
    for name in ("both", "first", "second"):
        assert len(await sink.mail_to(tenant.address(name), campaign_id=sent.id)) == 1, name
    for name in ("in_excluded", "one_by_one", "unsubscribed"):
        assert await sink.mail_to(tenant.address(name), campaign_id=sent.id) == [], name


async def test_another_tenants_key_finds_none_of_these_customers(tenant: h.Tenant) -> None:
    people = tenant.admin.recipients
    [mine] = await h.add_customers(people, [{"email": tenant.address("private")}])
    other = await h.new_tenant("E2E 他社 株式会社")
    stranger = other.admin.recipients

    assert (await stranger.send("GET", f"/v1/customers/{mine.id}")).status_code == 404
    found = await stranger.call("GET", "/v1/customers", params={"email": mine.email})
    assert found["items"] == []
    response = await stranger.send("POST", f"/v1/customers/{mine.id}/unsubscribe")
    assert response.status_code == 404
    assert not h.is_unsubscribed(await h.get_customer(people, mine.id))
    assert (
        await people.send("GET", "/v1/customers", headers={"Authorization": "Bearer bm_x_y"})
    ).status_code == 401
