"""Composing rules seen from outside: the legal footer turned off is recorded and the mail
goes out without it (SPEC §4.2), a 16th group is refused (§3.1), and only a manager or
above may change the sender (§3.2, §3.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import testkit.platform as h
from testkit import sink

COMPANY = "E2E 規則 株式会社"


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant(COMPANY)


async def customer(tenant: h.Tenant, local: str) -> h.Customer:
    [created] = await h.add_customers(
        tenant.admin.recipients,
        [{"email": tenant.address(local), "last_name": "規則", "first_name": "太郎"}],
    )
    return created


async def test_turning_the_footer_off_is_recorded_and_the_mail_has_none(tenant):
    manager = await tenant.add_user("規則 課長", "manager")
    api = manager.composer
    reader = await customer(tenant, "nofooter")
    draft = await h.compose(api, [reader], name="フッターなし")
    assert draft["footer"] == {"enabled": True, "disabled_by_user_id": None, "disabled_at": None}

    before = datetime.now(UTC) - timedelta(seconds=5)
    edited = await api.call("PATCH", f"/v1/campaigns/{draft['id']}", json={"footer_enabled": False})
    footer = edited["footer"]
    assert footer["enabled"] is False and footer["disabled_by_user_id"] == manager.id
    assert before <= datetime.fromisoformat(footer["disabled_at"]) <= datetime.now(UTC)

    await api.call("POST", f"/v1/campaigns/{draft['id']}/send")
    await h.wait_until_sent(api, draft["id"])
    [mail] = await sink.mail_to(reader.email, campaign_id=draft["id"])
    for body in (mail.text(), mail.html()):
        assert "配信停止" not in body and "丸の内" not in body, body
    # The record stays with the campaign after it was sent.
    kept = await api.call("GET", f"/v1/campaigns/{draft['id']}")
    assert kept["footer"] == footer

    # Turning it back on clears the record; the footer is then in the mail.
    other = await h.compose(api, [reader], name="フッター戻し", footer_enabled=False)
    assert other["footer"]["disabled_by_user_id"] == manager.id
    back = await api.call("PATCH", f"/v1/campaigns/{other['id']}", json={"footer_enabled": True})
    assert back["footer"] == {"enabled": True, "disabled_by_user_id": None, "disabled_at": None}


async def test_a_sixteenth_group_is_refused(tenant):
    api = tenant.admin.composer
    people = tenant.admin.recipients
    members = [await customer(tenant, "grouped")]
    groups = [await h.add_group(people, f"E2E グループ {i}", members) for i in range(16)]

    fifteen = await h.compose(
        api,
        [],
        recipients={"include_group_ids": groups[:10], "exclude_group_ids": groups[10:15]},
    )
    sixteen = await api.send(
        "POST",
        "/v1/campaigns",
        json=h.campaign_body(
            [], recipients={"include_group_ids": groups[:10], "exclude_group_ids": groups[10:]}
        ),
    )
    assert sixteen.status_code == 422, sixteen.text
    [error] = sixteen.json()["errors"]
    assert error["field"] == "recipients" and "15" in error["reason"], error

    more = {"include_group_ids": groups[:11], "exclude_group_ids": groups[11:]}
    patched = await api.send("PATCH", f"/v1/campaigns/{fifteen['id']}", json={"recipients": more})
    assert patched.status_code == 422, patched.text
    unchanged = await api.call("GET", f"/v1/campaigns/{fifteen['id']}")
    assert len(unchanged["recipients"]["include_group_ids"]) == 10
    assert len(unchanged["recipients"]["exclude_group_ids"]) == 5


async def test_a_member_cannot_change_the_sender(tenant):
    member = await tenant.add_user("規則 社員", "member", "規則 社員")
    manager = await tenant.add_user("規則 部長", "manager", "規則 部長")
    support = await tenant.admin.composer.call(  # registering senders is the admin's
        "POST",
        "/v1/senders",
        json={"name": "サポート", "email": tenant.staff_address("help")},
    )
    reader = await customer(tenant, "sender-rule")
    changes = [
        {"sender_mode": "changed", "sender_name": "別名", "sender_email": manager.email},
        {"sender_mode": "on_behalf_user", "sender_user_id": manager.id},
        {"sender_mode": "on_behalf_registered", "sender_registered_id": support["id"]},
    ]
    for change in changes:
        refused = await member.composer.send(
            "POST", "/v1/campaigns", json=h.campaign_body([reader], **change)
        )
        assert refused.status_code == 403, (change, refused.text)

    own = await h.compose(member.composer, [reader], name="自分の下書き")
    for change in changes:
        refused = await member.composer.send("PATCH", f"/v1/campaigns/{own['id']}", json=change)
        assert refused.status_code == 403, (change, refused.text)
    assert (await member.composer.call("GET", f"/v1/campaigns/{own['id']}"))[
        "sender_mode"
    ] == "self"

    # A manager may; the member's own draft still goes out under the member's name.
    allowed = await manager.composer.send(
        "POST", "/v1/campaigns", json=h.campaign_body([reader], **changes[1])
    )
    assert allowed.status_code == 201, allowed.text
    await member.composer.call("POST", f"/v1/campaigns/{own['id']}/send")
    await h.wait_until_sent(member.composer, own["id"])
    [mail] = await sink.mail_to(reader.email, campaign_id=own["id"])
    [sender] = mail.mail["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (member.name, member.email)
