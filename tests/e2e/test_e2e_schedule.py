"""Scheduled send, cancel back to drafts, and cancel refused once sending started (SPEC §6.1–6.3),
through composer's API and the mail the dev sink caught."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

import testkit.platform as h
from testkit import sink


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant("E2E 予約送信 株式会社")


def row(tenant: h.Tenant, local: str) -> dict[str, str]:
    return {"email": tenant.address(local), "last_name": "山田", "first_name": "太郎"}


async def folder_ids(api: h.Api, folder: str) -> set[str]:
    page = await api.call("GET", "/v1/campaigns", params={"folder": folder, "limit": 200})
    return {item["id"] for item in page["items"]}


async def test_a_scheduled_campaign_goes_out_at_its_time_and_a_cancelled_one_never(tenant):
    api = tenant.admin.composer
    kept_to, dropped_to = await h.add_customers(
        tenant.admin.recipients, [row(tenant, "scheduled"), row(tenant, "cancelled")]
    )
    kept = await h.compose(api, [kept_to], name="予約送信")
    dropped = await h.compose(api, [dropped_to], name="予約取消")
    send_at = h.in_seconds(5)
    for campaign in (kept, dropped):
        scheduled = await api.call(
            "POST", f"/v1/campaigns/{campaign['id']}/schedule", json={"send_at": send_at}
        )
        assert (scheduled["state"], scheduled["folder"]) == ("scheduled", "scheduled")
    assert {kept["id"], dropped["id"]} <= await folder_ids(api, "scheduled")

    # A scheduled campaign is not edited in place: cancel it, then edit the draft.
    edit = await api.send("PATCH", f"/v1/campaigns/{kept['id']}", json={"name": "changed"})
    assert edit.status_code == 409, edit.text
    cancelled = await api.call("POST", f"/v1/campaigns/{dropped['id']}/cancel")
    assert cancelled["folder"] == "drafts"
    assert cancelled["cancelled_by"] == tenant.admin.id and cancelled["released_at"] is None
    assert dropped["id"] in await folder_ids(api, "drafts")
    assert dropped["id"] not in await folder_ids(api, "scheduled")
    renamed = await api.call("PATCH", f"/v1/campaigns/{dropped['id']}", json={"name": "再編集"})
    assert renamed["name"] == "再編集" and renamed["state"] == "draft"

    [mail] = await sink.wait_for_mail(kept_to.email, campaign_id=kept["id"], within=45)
    received = datetime.fromisoformat(mail.summary["received_at"])
    assert received >= datetime.fromisoformat(send_at), "released before its time"
    assert mail.summary["rcpt_to"] == [kept_to.email]
    assert mail.mail["To"].addresses[0].addr_spec == kept_to.email and mail.mail["Cc"] is None
    done = await h.wait_until_sent(api, kept["id"])
    assert (done["total"], done["sent"]) == (1, 1)

    # By now the schedule's time is long past and delivery finished its sibling.
    await asyncio.sleep(2)
    assert await sink.mail_to(dropped_to.email) == []
    still = await api.call("GET", f"/v1/campaigns/{dropped['id']}")
    assert (still["state"], still["released_at"]) == ("draft", None)


async def test_cancel_is_refused_once_sending_has_started(tenant):
    api = tenant.admin.composer
    [customer] = await h.add_customers(tenant.admin.recipients, [row(tenant, "sendnow")])
    campaign = await h.compose(api, [customer], name="即時送信")
    sending = await api.call("POST", f"/v1/campaigns/{campaign['id']}/send")
    assert sending["state"] == "sending"

    early = await api.send("POST", f"/v1/campaigns/{campaign['id']}/cancel")
    assert early.status_code == 409, early.text
    assert early.json()["state"] in ("sending", "sent")

    done = await h.wait_until_sent(api, campaign["id"])
    assert done["sent"] == 1
    late = await api.send("POST", f"/v1/campaigns/{campaign['id']}/cancel")
    assert late.status_code == 409 and late.json()["state"] == "sent", late.text
    assert len(await sink.mail_to(customer.email, campaign_id=campaign["id"])) == 1
