"""Who a mail is from, and who hears about its opens (SPEC §3.2, §3.4, §3.5, §5.2).

One tenant with a manager, two members owning customers and a registered sender. Three
campaigns by the manager: sent as owner, on behalf of a member, on behalf of the registered
sender. Each caught mail's From (and Sender) is checked; then every mail is opened once,
the tenant's digest periods are closed, and each staff member's digest lists exactly the
opens routed to them.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest

import testkit.platform as h
from testkit import sink
from testkit.waiting import until

DIGEST_SUBJECT = "開封・クリック通知"


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant("E2E 送信者 株式会社")


def author(mail: EmailMessage, header: str = "From") -> tuple[str, str]:
    [address] = mail[header].addresses
    return address.display_name, address.addr_spec


async def digests_to(address: str) -> list[sink.Caught]:
    return [m for m in await sink.mail_to(address) if DIGEST_SUBJECT in m.summary["subject"]]


async def test_owner_and_on_behalf_senders_and_digest_routing(tenant):
    manager = await tenant.add_user("営業 部長", "manager", "営業部長\nTEL 03-1111-2222")
    owner_a = await tenant.add_user("担当 一郎", "member", "担当 一郎")
    owner_b = await tenant.add_user("担当 二郎", "member", "担当 二郎")
    support = await tenant.admin.composer.call(  # registering senders is the admin's
        "POST",
        "/v1/senders",
        json={"name": "サポート窓口", "email": tenant.staff_address("support")},
    )
    people = tenant.admin.recipients
    c_a, c_b, c_none = await h.add_customers(
        people,
        [
            {"email": tenant.address("owned-a"), "last_name": "顧客", "first_name": "甲",
             "owner_user_id": owner_a.id},
            {"email": tenant.address("owned-b"), "last_name": "顧客", "first_name": "乙",
             "owner_user_id": owner_b.id},
            {"email": tenant.address("no-owner"), "last_name": "顧客", "first_name": "丙"},
        ],
    )  # fmt: skip

    api = manager.composer
    as_owner, for_b, for_support = await asyncio.gather(
        h.send_now(api, [c_a, c_b, c_none], name="担当者から", send_as_owner=True),
        h.send_now(
            api, [c_none], name="代理: 担当二郎", sender_mode="on_behalf_user",
            sender_user_id=owner_b.id,
        ),
        h.send_now(
            api, [c_a], name="代理: サポート", sender_mode="on_behalf_registered",
            sender_registered_id=support["id"],
        ),
    )  # fmt: skip

    # mail -> (From, Sender or None, who is notified of its opens)
    expected = {
        (as_owner.id, c_a.email): ((owner_a.name, owner_a.email), None, owner_a),
        (as_owner.id, c_b.email): ((owner_b.name, owner_b.email), None, owner_b),
        (as_owner.id, c_none.email): ((manager.name, manager.email), None, manager),
        (for_b.id, c_none.email): (
            (owner_b.name, owner_b.email), (manager.name, manager.email), owner_b),
        (for_support.id, c_a.email): (
            (support["name"], support["email"]), (manager.name, manager.email), manager),
    }  # fmt: skip
    opened_for: dict[str, list[str]] = {}
    for (campaign_id, address), (sender, on_behalf_of, notified) in expected.items():
        [mail] = await sink.mail_to(address, campaign_id=campaign_id)
        assert author(mail.mail) == sender, (campaign_id, address)
        if on_behalf_of is None:
            assert mail.mail["Sender"] is None
        else:
            assert author(mail.mail, "Sender") == on_behalf_of
        pixel = mail.pixel_url()
        assert pixel, f"no open pixel in the mail to {address}"
        assert (await sink.follow(pixel)).status_code == 200
        opened_for.setdefault(notified.email, []).append(address)

    await until(
        lambda: h.digest_stats(tenant),
        lambda s: s["first_opens"] >= len(expected),
        within=30,
        what="notifier recorded every open",
    )
    # The periodic closer may get there first when a day ends meanwhile; either way, one
    # digest per user.
    await h.close_periods(tenant.id)

    for user in (owner_a, owner_b, manager):
        digests = await until(
            lambda user=user: digests_to(user.email),
            bool,
            within=30,
            what=f"digest to {user.email}",
        )
        assert len(digests) == 1, [d.summary["subject"] for d in digests]
        text = digests[0].text()
        opens = opened_for[user.email]
        assert f"初回開封 {len(opens)} 件" in text, text
        for address in opens:
            assert address in text, f"{address} missing from the digest of {user.email}"
        others = {a for (_, a) in expected} - set(opens)
        assert not [a for a in others if a in text], f"{user.email} got others' opens: {text}"
    # Nobody else hears about these opens: not the registered sender, not the admin.
    assert await digests_to(support["email"]) == []
    assert await digests_to(tenant.admin.email) == []
    assert (await h.digest_stats(tenant))["digests_sent"] == 3
