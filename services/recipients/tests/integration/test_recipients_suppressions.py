"""Opt-outs survive deletion (SPEC §4.2, §11): kept per tenant and address, they exclude a
deleted and re-imported customer from bulk mail; listed, exported, and lifted only by an
admin with a reason, who and when recorded."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from contracts import Bounced, Complained, RecipientSpec, Unsubscribed
from servicekit.auth import Role
from testkit.waiting import until

from .conftest import Service
from .test_recipients_audience import Tenant, campaign_for, resolve

CSV = {"Content-Type": "text/csv"}


async def opt_out_three(service: Service, t: Tenant) -> dict[str, uuid.UUID]:
    """An unsubscribed, a bounced and a complained customer, then all three deleted."""
    ids = {n: await t.customer(f"{n}@example.com") for n in ("unsub", "bounce", "complain")}
    await service.http.post(f"/v1/customers/{ids['unsub']}/unsubscribe", headers=t.auth)
    await service.publish(
        Bounced(tenant_id=t.id, customer_id=ids["bounce"], email="Bounce@Example.com", kind="hard")
    )
    await service.publish(
        Complained(
            tenant_id=t.id,
            campaign_id=uuid.uuid4(),
            message_id=uuid.uuid4(),
            customer_id=ids["complain"],
            email="Complain@Example.com",
        )
    )

    async def registered() -> bool:
        reasons = {e["reason"] for e in await entries(service, t.auth)}
        return bool((await t.state(ids["bounce"]))["bounced"]) and "complained" in reasons

    await until(registered, bool, within=20, what="bounce and complaint registered")
    for customer_id in ids.values():
        deleted = await service.http.delete(f"/v1/customers/{customer_id}", headers=t.auth)
        assert deleted.status_code == 204
    return ids


async def entries(service: Service, auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await service.http.get("/v1/suppressions", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_opt_outs_survive_deletion_and_reimport(service: Service) -> None:
    t = Tenant(service)
    await opt_out_three(service, t)
    # A DSN for an address no customer has yet is kept too.
    await service.publish(Bounced(tenant_id=t.id, email="later@example.com", kind="hard"))

    async def four() -> list[dict[str, Any]]:
        return await entries(service, t.auth)

    await until(four, lambda found: len(found) == 4, within=20, what="four opt-outs")
    body = "email,last_name\n" + "".join(
        f"{n}@EXAMPLE.com,再\n" for n in ("unsub", "bounce", "complain", "later", "fresh")
    )
    report = await service.http.post(
        "/v1/customers/import", content=body.encode(), headers=t.auth | CSV
    )
    assert report.json()["inserted"] == 5, report.text
    page = await service.http.get("/v1/customers", headers=t.auth)
    shown = {c["email"]: (c["unsubscribed"], c["bounced"]) for c in page.json()["items"]}
    assert shown == {
        "unsub@EXAMPLE.com": (True, False),
        "bounce@EXAMPLE.com": (False, True),
        "complain@EXAMPLE.com": (False, False),
        "later@EXAMPLE.com": (False, True),
        "fresh@EXAMPLE.com": (False, False),
    }

    ids = [uuid.UUID(c["id"]) for c in page.json()["items"]]
    recipients, summary = await resolve(
        service, campaign_for(t, RecipientSpec(customer_ids=ids), merge_fields=[])
    )
    assert [r.email for r in recipients] == ["fresh@EXAMPLE.com"]
    assert (summary.excluded["unsubscribed"], summary.excluded["bounced"]) == (1, 2)
    assert summary.excluded["complained"] == 1


async def test_a_customer_added_again_by_hand_shows_the_opt_out(service: Service) -> None:
    t = Tenant(service)
    await opt_out_three(service, t)
    again = await service.http.post(
        "/v1/customers", json={"email": "UNSUB@example.com"}, headers=t.auth
    )
    assert again.status_code == 201 and again.json()["unsubscribed"] is True


async def test_an_unsubscribed_persons_new_address_is_kept_out_too(service: Service) -> None:
    t = Tenant(service)
    customer = await t.customer("old@example.com")
    await service.publish(Unsubscribed(tenant_id=t.id, customer_id=customer, method="one_click"))

    async def unsubscribed() -> bool:
        return bool((await t.state(customer))["unsubscribed"])

    await until(unsubscribed, bool, within=20, what="unsubscribe registered")
    url = f"/v1/customers/{customer}"
    await service.http.patch(url, json={"email": "new@example.com"}, headers=t.auth)
    found = {(e["address"], e["source"]) for e in await entries(service, t.auth)}
    assert found == {("old@example.com", "one_click"), ("new@example.com", "address_change")}


async def test_the_list_pages_and_filters_and_the_export_streams_it(service: Service) -> None:
    t = Tenant(service)
    await opt_out_three(service, t)
    member = service.keys.add(t.id, Role.MEMBER)
    first = await service.http.get("/v1/suppressions", params={"limit": 2}, headers=member)
    rest = await entries(service, member, after=first.json()["next_after"])
    assert len(first.json()["items"]) == 2 and len(rest) == 1
    [bounced] = await entries(service, member, reason="bounced")
    assert (bounced["address"], bounced["source"]) == ("bounce@example.com", "smtp")
    assert [e["reason"] for e in await entries(service, member, address="UNSUB@example.com")] == [
        "unsubscribed"
    ]
    bad = await service.http.get("/v1/suppressions", params={"reason": "x"}, headers=member)
    assert bad.status_code == 422

    exported = await service.http.get(
        "/v1/suppressions/export", params={"format": "csv"}, headers=member
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted((r["address"], r["reason"]) for r in rows) == [
        ("bounce@example.com", "bounced"),
        ("complain@example.com", "complained"),
        ("unsub@example.com", "unsubscribed"),
    ]
    ndjson = await service.http.get(
        "/v1/suppressions/export",
        params={"format": "ndjson", "reason": "complained"},
        headers=member,
    )
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [line["address"] for line in lines] == ["complain@example.com"]
    other = await entries(service, service.keys.add())
    assert other == []


async def test_only_an_admin_lifts_an_opt_out_with_a_reason(service: Service) -> None:
    t = Tenant(service)
    customer = await t.customer("back@example.com")
    await service.http.post(f"/v1/customers/{customer}/unsubscribe", headers=t.auth)
    [entry] = await entries(service, t.auth)
    url = f"/v1/suppressions/{entry['id']}/lift"
    body = {"reason": "asked by phone to receive the newsletter again"}
    for role in (Role.MEMBER, Role.MANAGER):
        refused = await service.http.post(url, json=body, headers=service.keys.add(t.id, role))
        assert refused.status_code == 403, refused.text
    admin = service.keys.add(t.id, Role.ADMIN)
    for missing in ({}, {"reason": ""}, {"reason": "   "}):
        assert (await service.http.post(url, json=missing, headers=admin)).status_code == 422
    stranger = await service.http.post(url, json=body, headers=service.keys.add(role=Role.ADMIN))
    assert stranger.status_code == 404

    before = datetime.now(UTC)
    lifted = await service.http.post(url, json=body, headers=admin)
    assert lifted.status_code == 200, lifted.text
    lift = lifted.json()
    assert lift["entry"]["id"] == entry["id"] and lift["reason"] == body["reason"]
    assert lift["lifted_by"] == str(service.keys.principal(admin).user_id)
    assert datetime.fromisoformat(lift["lifted_at"]) >= before
    assert (await service.http.post(url, json=body, headers=admin)).status_code == 404

    assert await entries(service, t.auth) == []
    assert (await t.state(customer))["unsubscribed"] is False
    history = await service.http.get("/v1/suppressions/lifts", headers=t.auth)
    assert [h["id"] for h in history.json()["items"]] == [lift["id"]]
    recipients, _ = await resolve(
        service, campaign_for(t, RecipientSpec(customer_ids=[customer]), merge_fields=[])
    )
    assert [r.customer_id for r in recipients] == [customer]


async def test_an_opt_out_from_before_a_lift_does_not_come_back(service: Service) -> None:
    t = Tenant(service)
    customer = await t.customer("again@example.com")
    before = datetime.now(UTC)
    await service.publish(
        Unsubscribed(tenant_id=t.id, customer_id=customer, method="form", occurred_at=before)
    )

    async def unsubscribed() -> bool:
        return bool((await t.state(customer))["unsubscribed"])

    await until(unsubscribed, bool, within=20, what="unsubscribe registered")
    [entry] = await entries(service, t.auth)
    admin = service.keys.add(t.id, Role.ADMIN)
    lift = f"/v1/suppressions/{entry['id']}/lift"
    assert (await service.http.post(lift, json={"reason": "r"}, headers=admin)).status_code == 200

    late = Unsubscribed(tenant_id=t.id, customer_id=customer, method="form", occurred_at=before)
    await service.publish(late)
    # Same partition (by customer): once the new one is in, the late one was consumed.
    await service.publish(late, Unsubscribed(tenant_id=t.id, customer_id=customer, method="api"))
    found = await until(
        lambda: entries(service, t.auth), lambda e: bool(e), within=20, what="a new opt-out"
    )
    assert [(e["reason"], e["source"]) for e in found] == [("unsubscribed", "api")]
