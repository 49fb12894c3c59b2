"""Preview, test send, individual mail, group references and decisions about unknown
messages, over HTTP on fakes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from composer_tests_fakes import SECRET, DictVerifier, FakeAudience, FakeStore, fake_build

from composer.main import create_app
from composer.settings import Settings
from contracts import CampaignScheduled, UnknownResolution
from servicekit.auth import Role
from testkit.asgi import started

DRAFT = {
    "subject": "Hello {{ first_name }}",
    "html_body": '<p>Hi {{ first_name }}, see <a href="https://shop.example/sale">the sale</a></p>',
    "text_body": "Hi {{ first_name }}",
}


@dataclass
class Api:
    http: httpx.AsyncClient
    store: FakeStore
    audience: FakeAudience
    customer: uuid.UUID

    async def call(self, method: str, path: str, who: str = "member", **kw: Any) -> httpx.Response:
        return await self.http.request(
            method, path, headers={"Authorization": f"Bearer {who}"}, **kw
        )

    async def draft(self, who: str = "member", **changes: Any) -> str:
        body = DRAFT | {"recipients": {"customer_ids": [str(self.customer)]}} | changes
        response = await self.call("POST", "/v1/campaigns", who, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def render(
        self, campaign: str, action: str, choice: dict[str, str] | None = None, who: str = "member"
    ) -> httpx.Response:
        """A preview or test send of the campaign, for the chosen recipient (none: its only one)."""
        return await self.call("POST", f"/v1/campaigns/{campaign}/{action}", who, json=choice or {})

    async def draft_for_customer(self, action: str, status: int) -> tuple[str, dict[str, Any]]:
        """A new draft, previewed or test-sent for the customer: its id and the answer."""
        campaign = await self.draft()
        response = await self.render(campaign, action, {"customer_id": str(self.customer)})
        assert response.status_code == status, response.text
        return campaign, response.json()

    def released(self) -> list[CampaignScheduled]:
        return [e for e in self.store.state.outbox if isinstance(e, CampaignScheduled)]


@pytest.fixture
async def api(store, clock) -> AsyncIterator[Api]:
    verifier, audience = DictVerifier(), FakeAudience()
    tenant = store.add_tenant()
    verifier.keys["member"] = store.add_user(
        tenant, Role.MEMBER, email="mei@acme.example", name="Mei", signature="Mei / Acme"
    )
    verifier.keys["manager"] = store.add_user(tenant, Role.MANAGER, signature="")
    store.add_sender(tenant, verifier.keys["manager"])
    customer = audience.add("taro@customers.example", name="Taro", values={"first_name": "Taro"})
    settings = Settings(token_secret="unit", signing_keys_secret=SECRET, run_scheduler=False)
    app = create_app(settings, build=fake_build(store, clock, verifier, audience))
    async with started(app) as service, service.client("http://composer") as http:
        yield Api(http, store, audience, customer)


async def test_a_preview_renders_for_the_chosen_customer_with_links_that_count_nothing(api):
    _, shown = await api.draft_for_customer("preview", 200)
    assert shown["subject"] == "Hello Taro"
    assert shown["to"] == "taro@customers.example"
    assert shown["from"] == "Mei <mei@acme.example>"
    assert "Hi Taro" in shown["text"] and "Hi Taro" in shown["html"]
    # Untracked: the link goes straight to the shop, and no open pixel.
    assert 'href="https://shop.example/sale"' in shown["html"]
    assert "/o/" not in shown["html"]
    assert shown["excluded"] is None
    assert api.released() == []  # nothing was sent


async def test_a_preview_says_why_the_campaign_would_leave_a_customer_out(api):
    api.audience.customers[api.customer].excluded = "unsubscribed"
    campaign = await api.draft()
    response = await api.render(campaign, "preview")
    assert response.status_code == 200, response.text
    assert response.json()["excluded"] == "unsubscribed"


async def test_a_preview_needs_a_customer_when_the_campaign_has_several(api):
    campaign = await api.draft(
        recipients={"include_group_ids": [str(uuid.uuid4())], "customer_ids": [str(api.customer)]}
    )
    response = await api.render(campaign, "preview")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "customer_id"
    unknown = await api.render(campaign, "preview", {"customer_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    both = await api.render(
        campaign, "preview", {"customer_id": str(api.customer), "email": "a@b.example"}
    )
    assert both.status_code == 422


async def test_a_test_send_goes_to_the_caller_only_and_leaves_the_campaign_a_draft(api):
    campaign, answer = await api.draft_for_customer("test-send", 202)
    assert answer["to"] == "mei@acme.example"
    [test] = api.released()
    assert test.kind == "test"
    assert str(test.campaign_id) == answer["test_id"] != campaign
    assert test.recipients.customer_ids == [api.customer]
    assert test.recipients.deliver_to == "mei@acme.example"
    assert not test.tracking.track_opens and not test.tracking.track_clicks
    assert (await api.call("GET", f"/v1/campaigns/{campaign}")).json()["state"] == "draft"
    # The key passed on is the caller's own: recipients answers for the caller's tenant.
    assert api.audience.asked[-1][1] == "member"


async def test_a_test_send_obeys_the_rules_of_a_real_send(api):
    [sender] = api.store.state.senders.values()
    campaign = await api.draft(
        "manager",
        sender_mode="on_behalf_registered",
        sender_registered_id=str(sender.id),
        text_body="Hi {{ first_name }}\n{{ sender_signature }}",
    )
    # Sent on behalf by someone without a signature: refused, as the real send would be.
    response = await api.render(campaign, "test-send", who="manager")
    assert response.status_code == 422, response.text
    assert api.released() == []


async def test_individual_mail_goes_to_one_customer_or_one_address(api):
    to_address = await api.draft(
        kind="individual", recipients={"addresses": ["hanako@partner.example"]}
    )
    shown = await api.render(to_address, "preview")
    assert shown.status_code == 200, shown.text
    assert shown.json()["to"] == "hanako@partner.example"
    sent = await api.call("POST", f"/v1/campaigns/{to_address}/send")
    assert sent.status_code == 200, sent.text
    [released] = api.released()
    assert released.kind == "individual"
    assert released.recipients.addresses == ["hanako@partner.example"]


@pytest.mark.parametrize(
    ("recipients", "field"),
    [
        ({"include_group_ids": [str(uuid.uuid4())]}, "recipients.include_group_ids"),
        ({"customer_ids": [str(uuid.uuid4()), str(uuid.uuid4())]}, "recipients"),
        ({}, "recipients"),
    ],
)
async def test_individual_mail_refuses_groups_and_several_recipients(api, recipients, field):
    body = DRAFT | {"kind": "individual", "recipients": recipients}
    response = await api.call("POST", "/v1/campaigns", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_bulk_mail_goes_to_customers_not_to_bare_addresses(api):
    body = DRAFT | {"recipients": {"addresses": ["someone@partner.example"]}}
    response = await api.call("POST", "/v1/campaigns", json=body)
    assert response.status_code == 422
    assert "recipients.addresses" in [e["field"] for e in response.json()["errors"]]


async def test_a_group_the_tenant_does_not_have_is_refused_wherever_it_is_named(api):
    known, unknown = uuid.uuid4(), uuid.uuid4()
    api.audience.groups = {known}
    body = DRAFT | {"recipients": {"include_group_ids": [str(known)]}}
    typo = {"recipients": {"include_group_ids": [str(known)], "exclude_group_ids": [str(unknown)]}}
    created = await api.call("POST", "/v1/campaigns", json=DRAFT | typo)
    assert created.status_code == 422
    assert [e["field"] for e in created.json()["errors"]] == ["recipients.exclude_group_ids"]
    assert str(unknown) in created.json()["errors"][0]["reason"]

    draft = (await api.call("POST", "/v1/campaigns", json=body)).json()["id"]
    edited = await api.call("PATCH", f"/v1/campaigns/{draft}", json=typo)
    assert edited.status_code == 422
    # The group was deleted after the draft was saved: sending and scheduling refuse it.
    api.audience.groups = set()
    for path, payload in (("send", None), ("schedule", {"send_at": "2030-06-01T09:00"})):
        refused = await api.call("POST", f"/v1/campaigns/{draft}/{path}", json=payload)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "recipients.include_group_ids"
    assert api.released() == []


async def test_operators_decide_about_unknown_messages_of_a_released_campaign(api):
    draft = await api.draft()
    early = await api.call("POST", f"/v1/campaigns/{draft}/unknown", json={"action": "resend"})
    assert early.status_code == 409  # a draft has no messages
    assert (await api.call("POST", f"/v1/campaigns/{draft}/send")).status_code == 200
    none_yet = await api.call("POST", f"/v1/campaigns/{draft}/unknown", json={"action": "resend"})
    assert none_yet.status_code == 409
    assert none_yet.json()["errors"][0]["field"] == "unknown"

    api.store.state.progress[uuid.UUID(draft)].unknown = 3
    bad = await api.call("POST", f"/v1/campaigns/{draft}/unknown", json={"action": "retry"})
    assert bad.status_code == 422
    other = await api.call(
        "POST", f"/v1/campaigns/{draft}/unknown", "manager", json={"action": "give_up"}
    )
    assert other.status_code == 202, other.text  # a manager acts on anyone's campaign
    assert other.json() == {"action": "give_up", "unknown": 3}
    [decision] = [e for e in api.store.state.outbox if isinstance(e, UnknownResolution)]
    assert (str(decision.campaign_id), decision.action) == (draft, "give_up")
