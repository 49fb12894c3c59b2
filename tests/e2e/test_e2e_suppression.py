"""A hard bounce and a one-click unsubscribe are registered by recipients, and the next
campaign leaves those customers out (SPEC §4.2, §4.3, §6.4)."""

from __future__ import annotations

import pytest

import testkit.platform as h
from testkit import sink
from testkit.waiting import until


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant("E2E 配信停止 株式会社")


def row(tenant: h.Tenant, local: str) -> dict[str, str]:
    return {"email": tenant.address(local), "last_name": "佐藤", "first_name": "花子"}


async def test_a_hard_bounce_is_registered_and_excluded_next_time(tenant):
    api = tenant.admin.composer
    people = tenant.admin.recipients
    # The dev sink refuses local parts starting with "bounce" with 550 5.1.1.
    gone, fine = await h.add_customers(people, [row(tenant, "bounce"), row(tenant, "fine")])

    first = await h.send_now(api, [gone, fine], name="バウンス 1回目")
    assert (first.progress["total"], first.progress["sent"], first.progress["bounced"]) == (2, 1, 1)
    assert await sink.mail_to(gone.email) == []
    await until(
        lambda: h.get_customer(people, gone.id),
        h.is_bounced,
        within=30,
        what=f"customer {gone.email} registered as bounced",
    )
    assert not h.is_bounced(await h.get_customer(people, fine.id))

    second = await h.send_now(api, [gone, fine], name="バウンス 2回目")
    assert second.progress["excluded"].get("bounced") == 1, second.progress
    assert (second.progress["total"], second.progress["sent"]) == (1, 1)
    assert second.progress["bounced"] == 0
    assert len(await sink.mail_to(fine.email, campaign_id=second.id)) == 1
    assert await sink.mail_to(gone.email) == []


async def test_a_one_click_unsubscribe_is_registered_and_excluded_next_time(tenant):
    api = tenant.admin.composer
    people = tenant.admin.recipients
    leaving, staying = await h.add_customers(
        people, [row(tenant, "leaving"), row(tenant, "staying")]
    )

    first = await h.send_now(api, [leaving, staying], name="配信停止 1回目")
    assert first.progress["sent"] == 2
    [mail] = await sink.mail_to(leaving.email, campaign_id=first.id)
    assert mail.mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = mail.unsubscribe_url()
    assert url and url.startswith(h.LOCAL.tracking), mail.mail["List-Unsubscribe"]
    response = await sink.one_click_unsubscribe(url)
    assert response.status_code == 200, response.text
    await until(
        lambda: h.get_customer(people, leaving.id),
        h.is_unsubscribed,
        within=30,
        what=f"customer {leaving.email} registered as unsubscribed",
    )
    assert not h.is_unsubscribed(await h.get_customer(people, staying.id))

    second = await h.send_now(api, [leaving, staying], name="配信停止 2回目")
    assert second.progress["excluded"].get("unsubscribed") == 1, second.progress
    assert (second.progress["total"], second.progress["sent"]) == (1, 1)
    assert await sink.mail_to(leaving.email, campaign_id=second.id) == []
    assert len(await sink.mail_to(staying.email, campaign_id=second.id)) == 1
