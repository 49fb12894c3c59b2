"""Audience resolution end to end inside the service: every exclusion rule, deduplication,
owners as senders, merge values, replays and tenant isolation, on real PostgreSQL and Kafka."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import recipients_tests_fakes as fakes

from contracts import (
    Address,
    AudienceResolved,
    Bounced,
    CampaignScheduled,
    Event,
    RecipientResolved,
    RecipientSpec,
    StaffMember,
    topics,
)
from recipients.domain import message_id
from testkit.waiting import until

from .conftest import Service

OWNER = StaffMember(
    user_id=uuid.uuid4(), name="担当 花子", email="hanako@acme.example", signature="花子より"
)


class Tenant:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.auth = service.keys.add()
        self.id = service.keys.keys[self.auth["Authorization"].split()[1]].tenant_id

    async def customer(self, email: str, **fields: Any) -> uuid.UUID:
        fields = {"last_name": "山田", "first_name": "太郎", "company": "Acme"} | fields
        fields.setdefault("attributes", {"plan": "gold"})
        if fields.get("owner_user_id"):  # a user of the tenant, even if not in the snapshot
            self.service.staff.users.setdefault(self.id, set()).add(
                uuid.UUID(fields["owner_user_id"])
            )
        response = await self.service.http.post(
            "/v1/customers", json={"email": email, **fields}, headers=self.auth
        )
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    async def group(self, *members: uuid.UUID) -> uuid.UUID:
        group = await self.service.http.post("/v1/groups", json={"name": "g"}, headers=self.auth)
        group_id = group.json()["id"]
        added = await self.service.http.post(
            f"/v1/groups/{group_id}/members",
            json={"customer_ids": [str(m) for m in members]},
            headers=self.auth,
        )
        assert added.json()["unknown"] == []
        return uuid.UUID(group_id)

    async def state(self, customer_id: uuid.UUID) -> dict[str, Any]:
        url = f"/v1/customers/{customer_id}"
        response = await self.service.http.get(url, headers=self.auth)
        return dict(response.json())


def campaign_for(tenant: Tenant, spec: RecipientSpec, **fields: Any) -> CampaignScheduled:
    return fakes.campaign(
        tenant_id=tenant.id,
        recipients=spec,
        staff=[fakes.OPERATOR, OWNER],
        **fields,
    )


async def resolve(
    service: Service, event: CampaignScheduled, *, linger: float = 0.0
) -> tuple[list[RecipientResolved], AudienceResolved]:
    """Publishes the event and reads what the service resolved for its campaign."""
    await service.publish(event)

    def of_campaign(events: list[Event]) -> list[Any]:
        return [e for e in events if getattr(e, "campaign_id", None) == event.campaign_id]

    summaries = await service.read(
        topics.AUDIENCE_RESOLVED, until=lambda e: bool(of_campaign(e)), linger=linger
    )
    (summary,) = of_campaign(summaries)

    def recipients_of(events: list[Event]) -> list[Any]:
        return [e for e in of_campaign(events) if isinstance(e, RecipientResolved)]

    stream = await service.read(
        topics.RECIPIENT_RESOLVED,
        until=lambda e: len(recipients_of(e)) >= summary.recipients,
        linger=linger,
    )
    return recipients_of(stream), summary


@pytest.fixture(scope="module")
async def world(service: Service) -> dict[str, Any]:
    """One tenant's customers covering every rule, and a second tenant's."""
    a = Tenant(service)
    c: dict[str, uuid.UUID] = {}
    for name in (
        "plain",
        "both_groups",
        "explicit",
        "explicit_and_group",
        "in_excluded_group",
        "excluded_one_by_one",
        "unsubscribed",
        "bounced",
        "owned",
        "owner_not_in_staff",
        "many_reasons",
        "not_chosen",
    ):
        owner = {"owned": OWNER.user_id, "owner_not_in_staff": uuid.uuid4()}.get(name)
        c[name] = await a.customer(f"{name}@example.com", owner_user_id=owner and str(owner))
    c["no_last_name"] = await a.customer("no_last_name@example.com", last_name="")
    c["no_plan"] = await a.customer("no_plan@example.com", attributes={"other": "x"})

    first = await a.group(
        c["plain"], c["both_groups"], c["in_excluded_group"], c["excluded_one_by_one"],
        c["unsubscribed"], c["owned"], c["owner_not_in_staff"], c["many_reasons"],
        c["no_last_name"], c["no_plan"],
    )  # fmt: skip
    second = await a.group(c["both_groups"], c["explicit_and_group"], c["bounced"])
    excluded = await a.group(c["in_excluded_group"], c["many_reasons"])

    for name in ("unsubscribed", "many_reasons"):
        await service.http.post(f"/v1/customers/{c[name]}/unsubscribe", headers=a.auth)
    await service.publish(
        Bounced(tenant_id=a.id, customer_id=c["bounced"], email="bounced@example.com", kind="hard")
    )
    await until(lambda: _bounced(a, c["bounced"]), bool, within=20, what="bounce registered")

    b = Tenant(service)
    foreign = await b.customer("foreign@example.com")
    foreign_group = await b.group(foreign)
    return {
        "a": a,
        "c": c,
        "spec": RecipientSpec(
            customer_ids=[c["explicit"], c["explicit_and_group"], foreign],
            include_group_ids=[first, second, foreign_group],
            exclude_group_ids=[excluded],
            excluded_customer_ids=[c["excluded_one_by_one"], c["many_reasons"]],
        ),
        "foreign": foreign,
    }


async def _bounced(tenant: Tenant, customer_id: uuid.UUID) -> bool:
    return bool((await tenant.state(customer_id))["bounced"])


MERGE = [
    "last_name",
    "full_name",
    "company",
    "email",
    "attr.plan",
    "sender_name",
    "sender_signature",
]


async def test_every_exclusion_rule_and_one_mail_per_customer(
    service: Service, world: dict[str, Any]
) -> None:
    c = world["c"]
    event = campaign_for(world["a"], world["spec"], merge_fields=MERGE, exclude_missing_merge=True)

    recipients, summary = await resolve(service, event, linger=1.0)

    expected = {
        "plain",
        "both_groups",
        "explicit",
        "explicit_and_group",
        "owned",
        "owner_not_in_staff",
    }
    assert sorted(str(r.customer_id) for r in recipients) == sorted(str(c[n]) for n in expected)
    assert summary.recipients == len(expected)
    assert summary.excluded == {
        "excluded_customer": 2,  # one by one, and the one with every reason (counted once)
        "excluded_group": 1,
        "unsubscribed": 1,
        "complained": 0,
        "bounced": 1,
        "missing_merge_value": 2,
    }
    assert all(r.message_id == message_id(event.campaign_id, r.customer_id) for r in recipients)
    assert world["foreign"] not in {r.customer_id for r in recipients}


async def test_owners_send_and_hear_about_their_customers(
    service: Service, world: dict[str, Any]
) -> None:
    c = world["c"]
    event = campaign_for(world["a"], world["spec"], merge_fields=MERGE, send_as_owner=True)

    recipients, _ = await resolve(service, event)

    by_customer = {r.customer_id: r for r in recipients}
    owned = by_customer[c["owned"]]
    assert owned.sender == Address(name=OWNER.name, email=OWNER.email)
    assert owned.notify_user_id == OWNER.user_id
    assert owned.merge_values["sender_name"] == OWNER.name
    assert owned.merge_values["sender_signature"] == OWNER.signature
    for name in ("plain", "owner_not_in_staff"):
        other = by_customer[c[name]]
        assert other.sender == event.sender and other.notify_user_id == event.notify_user_id
        assert other.merge_values["sender_signature"] == fakes.OPERATOR.signature


async def test_without_send_as_owner_everyone_gets_the_campaign_sender(
    service: Service, world: dict[str, Any]
) -> None:
    event = campaign_for(world["a"], world["spec"], merge_fields=MERGE)
    recipients, _ = await resolve(service, event)
    assert {(r.sender, r.notify_user_id) for r in recipients} == {
        (event.sender, event.notify_user_id)
    }


async def test_merge_values_and_missing_ones_render_empty_when_not_excluded(
    service: Service, world: dict[str, Any]
) -> None:
    c = world["c"]
    event = campaign_for(world["a"], world["spec"], merge_fields=MERGE)

    recipients, summary = await resolve(service, event)

    assert summary.excluded["missing_merge_value"] == 0
    by_customer = {r.customer_id: r for r in recipients}
    assert by_customer[c["plain"]].merge_values == {
        "last_name": "山田",
        "full_name": "山田 太郎",
        "company": "Acme",
        "email": "plain@example.com",
        "attr.plan": "gold",
        "sender_name": fakes.OPERATOR.name,
        "sender_signature": fakes.OPERATOR.signature,
    }
    assert by_customer[c["plain"]].name == "山田 太郎"
    assert by_customer[c["plain"]].email == "plain@example.com"
    assert by_customer[c["no_last_name"]].merge_values["last_name"] is None
    assert by_customer[c["no_last_name"]].merge_values["full_name"] == "太郎"
    assert by_customer[c["no_plan"]].merge_values["attr.plan"] is None


async def test_a_replayed_campaign_yields_no_new_message(
    service: Service, world: dict[str, Any]
) -> None:
    event = campaign_for(world["a"], world["spec"], merge_fields=MERGE)
    first, summary = await resolve(service, event)

    await service.publish(event)  # the same event again, e.g. after a lost offset commit
    again, _ = await resolve(service, event.model_copy(), linger=3.0)

    assert len(again) == len(first) == summary.recipients
    summaries = await service.read(topics.AUDIENCE_RESOLVED, until=lambda e: True, linger=0.5)
    assert sum(1 for s in summaries if getattr(s, "campaign_id", None) == event.campaign_id) == 1


async def test_another_tenants_campaign_sees_none_of_these_customers(
    service: Service, world: dict[str, Any]
) -> None:
    stranger = Tenant(service)
    event = campaign_for(stranger, world["spec"], merge_fields=MERGE)
    recipients, summary = await resolve(service, event)
    assert recipients == [] and summary.recipients == 0
    assert sum(summary.excluded.values()) == 0
