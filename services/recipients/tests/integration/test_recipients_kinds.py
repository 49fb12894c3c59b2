"""Individual mail (SPEC §4.2), test sends and previews (SPEC §10), on real PostgreSQL and
Kafka: which opt-outs leave a recipient out depends on the kind of mail; an address that is
no customer is a recipient of its own; the preview endpoint resolves one recipient as the
campaign would."""

from __future__ import annotations

import uuid
from typing import Any

from contracts import Bounced, Complained, RecipientResolved, RecipientSpec, encode
from testkit.waiting import until

from .conftest import Service
from .test_recipients_audience import Tenant, campaign_for, resolve

FIELDS = ["email", "last_name"]


async def opted_out(service: Service, t: Tenant) -> dict[str, uuid.UUID]:
    """An unsubscribed, a complained and a bounced customer, and one with none of that."""
    ids = {
        name: await t.customer(f"{name}-{uuid.uuid4().hex[:6]}@example.com", last_name=name)
        for name in ("unsubscribed", "complained", "bounced", "fine")
    }
    await service.http.post(f"/v1/customers/{ids['unsubscribed']}/unsubscribe", headers=t.auth)
    emails = {n: (await t.state(i))["email"] for n, i in ids.items()}
    await service.publish(
        Bounced(tenant_id=t.id, customer_id=ids["bounced"], email=emails["bounced"], kind="hard"),
        Complained(
            tenant_id=t.id,
            campaign_id=uuid.uuid4(),
            message_id=uuid.uuid4(),
            customer_id=ids["complained"],
            email=emails["complained"],
        ),
    )

    async def registered() -> bool:
        page = (await service.http.get("/v1/suppressions", headers=t.auth)).json()
        return len(page["items"]) >= 3

    await until(registered, bool, within=20, what="opt-outs registered")
    return ids


async def resolved(service: Service, t: Tenant, spec: RecipientSpec, **fields: Any):
    recipients, summary = await resolve(
        service, campaign_for(t, spec, merge_fields=FIELDS, **fields)
    )
    return {r.merge_values["last_name"] or r.email: r for r in recipients}, summary


async def test_individual_mail_reaches_an_unsubscribed_customer_but_no_opted_out_address(
    service: Service,
) -> None:
    t = Tenant(service)
    ids = await opted_out(service, t)
    everyone = RecipientSpec(customer_ids=list(ids.values()))
    bulk, bulk_summary = await resolved(service, t, everyone)
    assert set(bulk) == {"fine"}
    assert bulk_summary.excluded == bulk_summary.excluded | {
        "unsubscribed": 1, "complained": 1, "bounced": 1,
    }  # fmt: skip
    one_by_one, summary = await resolved(service, t, everyone, kind="individual")
    assert set(one_by_one) == {"fine", "unsubscribed"}
    assert (summary.excluded["complained"], summary.excluded["bounced"]) == (1, 1)


async def test_an_address_that_is_no_customer_is_a_recipient_of_its_own(service: Service) -> None:
    t = Tenant(service)
    ids = await opted_out(service, t)
    known = (await t.state(ids["fine"]))["email"]
    spec = RecipientSpec(addresses=["Partner@Outside.example", known.upper()])
    got, _ = await resolved(service, t, spec, kind="individual")
    outside = got["partner@outside.example"]
    assert outside.merge_values == {"email": "partner@outside.example", "last_name": None}
    assert outside.customer_id not in ids.values() and outside.name == ""
    assert got["fine"].customer_id == ids["fine"]  # an address a customer has is that customer
    again, _ = await resolved(service, t, spec, kind="individual")
    assert again["partner@outside.example"].customer_id == outside.customer_id

    bounced = (await t.state(ids["bounced"]))["email"]
    kept_out, summary = await resolved(
        service, t, RecipientSpec(addresses=[bounced]), kind="individual"
    )
    assert kept_out == {} and summary.excluded["bounced"] == 1


async def test_a_test_send_goes_to_the_staff_address_whatever_the_customers_state(
    service: Service,
) -> None:
    t = Tenant(service)
    ids = await opted_out(service, t)
    spec = RecipientSpec(customer_ids=[ids["unsubscribed"]], deliver_to="mei@acme.example")
    got, _ = await resolved(service, t, spec, kind="test")
    [test] = got.values()
    assert test.email == "mei@acme.example" and test.merge_values["last_name"] == "unsubscribed"
    assert test.customer_id != ids["unsubscribed"]  # its bounces are never the customer's


async def test_the_preview_resolves_one_recipient_with_the_reason_it_would_be_left_out(
    service: Service,
) -> None:
    t = Tenant(service)
    ids = await opted_out(service, t)

    async def preview(spec: RecipientSpec, auth: dict[str, str] = t.auth, **fields: Any):
        body = encode(campaign_for(t, spec, merge_fields=FIELDS, **fields))
        return await service.http.post(
            "/v1/recipients/preview",
            content=body,
            headers=auth | {"Content-Type": "application/json"},
        )

    shown = await preview(RecipientSpec(customer_ids=[ids["unsubscribed"]]))
    assert shown.status_code == 200, shown.text
    answer = shown.json()
    recipient = RecipientResolved.model_validate(answer["recipient"])
    assert recipient.customer_id == ids["unsubscribed"]
    assert recipient.merge_values["last_name"] == "unsubscribed"
    assert answer["excluded"] == "unsubscribed"
    individual = await preview(RecipientSpec(customer_ids=[ids["unsubscribed"]]), kind="individual")
    assert individual.json()["excluded"] is None

    assert (await preview(RecipientSpec(customer_ids=[uuid.uuid4()]))).status_code == 404
    several = RecipientSpec(customer_ids=list(ids.values()))
    assert (await preview(several)).status_code == 422
    other = Tenant(service)
    assert (await preview(RecipientSpec(customer_ids=[ids["fine"]]), other.auth)).status_code == 404
