"""A hard bounce and a one-click unsubscribe are registered by recipients, and the next
campaign leaves those customers out (SPEC §4.2, §4.3, §6.4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

import testkit.platform as h
from testkit import sink
from testkit.waiting import until

Registered = Callable[[Mapping[str, Any]], bool]


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant("E2E 配信停止 株式会社")


def row(tenant: h.Tenant, local: str) -> dict[str, str]:
    return {"email": tenant.address(local), "last_name": "佐藤", "first_name": "花子"}


async def registered(
    people: h.Api, gone: h.Customer, kept: h.Customer, state: str, is_so: Registered
) -> None:
    """Waits until recipients registers `gone` as `state`; `kept` stays as it was."""
    await until(
        lambda: h.get_customer(people, gone.id),
        is_so,
        within=30,
        what=f"customer {gone.email} registered as {state}",
    )
    assert not is_so(await h.get_customer(people, kept.id))


async def excluded_next_time(
    api: h.Api, gone: h.Customer, kept: h.Customer, reason: str, name: str
) -> h.Sent:
    """Sends the next campaign to both: it leaves `gone` out for `reason`, reaches `kept`."""
    second = await h.send_now(api, [gone, kept], name=name)
    assert second.progress["excluded"].get(reason) == 1, second.progress
    assert (second.progress["total"], second.progress["sent"]) == (1, 1)
    assert await sink.mail_to(gone.email, campaign_id=second.id) == []
    assert len(await sink.mail_to(kept.email, campaign_id=second.id)) == 1
    return second


async def test_a_hard_bounce_is_registered_and_excluded_next_time(tenant):
    api = tenant.admin.composer
    people = tenant.admin.recipients
    # The dev sink refuses local parts starting with "bounce" with 550 5.1.1.
    gone, fine = await h.add_customers(people, [row(tenant, "bounce"), row(tenant, "fine")])

    first = await h.send_now(api, [gone, fine], name="バウンス 1回目")
    assert (first.progress["total"], first.progress["sent"], first.progress["bounced"]) == (2, 1, 1)
    assert await sink.mail_to(gone.email) == []
    await registered(people, gone, fine, "bounced", h.is_bounced)

    second = await excluded_next_time(api, gone, fine, "bounced", name="バウンス 2回目")
    assert second.progress["bounced"] == 0
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
    await registered(people, leaving, staying, "unsubscribed", h.is_unsubscribed)
    await excluded_next_time(api, leaving, staying, "unsubscribed", name="配信停止 2回目")
