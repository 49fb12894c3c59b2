"""`make demo`: one real campaign through every running service, then a second one.

Talks to the services only through their HTTP APIs and to the dev SMTP sink through its
listing, exactly as a platform team would. Every number of the last line is read back from
the services, not counted here:

    demo: recipients=N sent=N bounced=N excluded=N opened=N clicked=N unsubscribed=N digests=N
"""

from __future__ import annotations

import asyncio
import random
import secrets
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from testkit import platform, sink
from testkit.platform import Api, Tenant, User

CUSTOMERS = 10_000
BOUNCING = 5
DEFERRED = 3
SAMPLE = 60
UNSUBSCRIBING = 4


def say(text: str) -> None:
    print(f"  {text}", flush=True)


# ---------------------------------------------------------------- tenant and staff


async def create_staff(tenant: Tenant) -> list[User]:
    people = [
        ("営業 花子", "manager", "営業部 花子\nTEL 03-1111-2222"),
        ("販売 次郎", "manager", "販売部 次郎\nTEL 03-3333-4444"),
        ("佐藤 一郎", "member", "佐藤 一郎 / 第一営業課"),
        ("鈴木 二郎", "member", "鈴木 二郎 / 第二営業課"),
        ("高橋 三郎", "member", ""),
    ]
    return [await tenant.add_user(name, role, signature) for name, role, signature in people]


async def console_sign_in(tenant: Tenant, user: User) -> None:
    """A password for a manager of the tenant, shown so that a person can follow the demo in
    the web console."""
    password = secrets.token_urlsafe(12)
    await tenant.admin.composer.call(
        "PUT", f"/v1/users/{user.id}/password", json={"new_password": password}
    )
    say(f"console: {platform.LOCAL.console}  sign in as {user.email} / {password}")


# ---------------------------------------------------------------- customers and groups


def customer_rows(tenant: Tenant, owners: list[str]) -> list[dict[str, Any]]:
    family = ["山田", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田"]
    given = ["太郎", "花子", "健", "愛", "翔", "結衣", "大輝", "美咲"]
    rows = []
    for i in range(CUSTOMERS):
        if i < BOUNCING:
            local = f"bounce{i}"
        elif i < BOUNCING + DEFERRED:
            local = f"defer{i}"
        else:
            local = f"c{i}"
        rows.append(
            {
                "email": tenant.address(local),
                "last_name": family[i % len(family)],
                "first_name": given[i % len(given)],
                "company": f"取引先{i % 50}株式会社",
                "attributes": {"plan": ["basic", "pro"][i % 2]},
                "owner_user_id": owners[i % len(owners)] if i % 2 == 0 else None,
            }
        )
    return rows


async def seed_customers(tenant: Tenant, owners: list[str]) -> list[str]:
    """Imports customers and four groups; returns the group ids."""
    api = tenant.admin.recipients
    rows = customer_rows(tenant, owners)
    say(f"imported customers: {await platform.import_customers(api, rows)}")
    emails = [r["email"] for r in rows]
    groups = []
    for name, members in [
        ("全顧客 前半", emails[: CUSTOMERS // 2]),
        ("全顧客 後半", emails[CUSTOMERS // 2 :]),
        ("プロプラン", emails[1::2]),
        ("配信除外テスト", emails[-20:]),
    ]:
        group = await platform.add_group(api, name)
        await platform.import_members(api, group, members)
        groups.append(group)
    return groups


# ---------------------------------------------------------------- campaigns

HTML = """<p>{{ last_name }} {{ first_name }} 様</p>
<p>いつも{{ company }}様にはお世話になっております。新サービスのご案内です。</p>
<p><a href="https://www.example.com/new?utm=demo">詳しくはこちら</a> /
<a href="https://www.example.com/pricing">料金</a></p>
<pre>{{ sender_signature }}</pre>"""
TEXT = """{{ last_name }} {{ first_name }} 様

新サービスのご案内です: https://www.example.com/new?utm=demo

{{ sender_signature }}"""


async def compose(api: Api, name: str, groups: list[str]) -> dict[str, Any]:
    body = {
        "name": name,
        "subject": "{{ last_name }}様へ 新サービスのご案内",
        "html_body": HTML,
        "text_body": TEXT,
        "recipients": {"include_group_ids": groups[:3], "exclude_group_ids": groups[3:]},
        "send_as_owner": True,
        "footer_enabled": True,
        "tracking": {
            "track_opens": True,
            "track_clicks": True,
            "first_open_timing": "hourly",
            "reopen_timing": "daily",
            "click_timing": "hourly",
        },
    }
    return dict(await api.call("POST", "/v1/campaigns", json=body))


async def schedule_shortly(api: Api, campaign_id: str, seconds: int = 5) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")
    await api.call("POST", f"/v1/campaigns/{campaign_id}/schedule", json={"send_at": at})
    say(f"campaign {campaign_id} scheduled for {at}")


async def wait_until_sent(api: Api, campaign_id: str, limit: float = 600) -> dict[str, Any]:
    last = ""

    def show(progress: dict[str, Any]) -> None:
        nonlocal last
        line = (
            f"  {progress['state']:<9} total={progress['total']} sent={progress['sent']} "
            f"bounced={progress['bounced']} soft={progress['soft_bounced']} "
            f"deferred={progress['deferred']} excluded={progress['excluded_total']} "
            f"opens={progress['opens']} clicks={progress['clicks']}"
        )
        if line != last:
            print(line, flush=True)
            last = line

    return await platform.wait_until_sent(api, campaign_id, limit, seen=show)


# ---------------------------------------------------------------- what recipients do


async def caught_mails(tenant: Tenant, limit: int) -> list[sink.Caught]:
    """A random sample of this run's delivered mails, looked up in the sink by recipient."""
    first = BOUNCING + DEFERRED
    sample = random.Random(7).sample(range(first, CUSTOMERS), limit)
    mails: list[sink.Caught] = []
    for i in sample:
        mails += (await sink.mail_to(tenant.address(f"c{i}")))[:1]
    return mails


async def behave_like_recipients(tenant: Tenant) -> None:
    opened = clicked = unsubscribed = 0
    for i, mail in enumerate(await caught_mails(tenant, SAMPLE)):
        pixel, clicks, unsubscribe = mail.pixel_url(), mail.click_urls(), mail.unsubscribe_url()
        if pixel:
            await sink.follow(pixel)
            opened += 1
            if i % 3 == 0:
                await sink.follow(pixel)  # a re-open within the hour: counted, not notified
        if clicks and i % 2 == 0:
            await sink.follow(clicks[0])
            clicked += 1
        if unsubscribe and i < UNSUBSCRIBING:
            await sink.one_click_unsubscribe(unsubscribe)
            unsubscribed += 1
    say(f"followed {opened} pixels, {clicked} links, {unsubscribed} one-click unsubscribes")


# ---------------------------------------------------------------- the run


async def run() -> str:
    say("bootstrapping a tenant")
    tenant = await platform.new_tenant(
        "株式会社デモ商事", contact="03-1234-5678 / support@demo.example.com"
    )
    say(f"sending domain {tenant.domain}: DKIM, SPF and DMARC published in DNS, verified")
    staff = await create_staff(tenant)
    manager = staff[0].composer
    say(f"tenant {tenant.id}: admin, {len(staff)} staff")
    await console_sign_in(tenant, staff[0])
    groups = await seed_customers(tenant, [s.id for s in staff])

    first = await compose(manager, "新サービス案内 第1弾", groups)
    await schedule_shortly(manager, first["id"])
    await wait_until_sent(manager, first["id"])

    say("following tracking links from delivered mail")
    await behave_like_recipients(tenant)
    await asyncio.sleep(3)
    digests = await platform.close_periods(None)
    say(f"closed digest periods: {digests}")

    second = await compose(manager, "新サービス案内 第2弾", groups)
    await manager.call("POST", f"/v1/campaigns/{second['id']}/send")
    excluded = (await wait_until_sent(manager, second["id"]))["excluded"]
    say(f"second campaign excluded {excluded}")
    if excluded.get("bounced", 0) < BOUNCING or excluded.get("unsubscribed", 0) < 1:
        raise SystemExit("the second campaign did not exclude bounced and unsubscribed customers")

    progress = await platform.progress(manager, first["id"])
    return (
        f"demo: recipients={progress['total'] + progress['excluded_total']} "
        f"sent={progress['sent']} bounced={progress['bounced'] + progress['soft_bounced']} "
        f"excluded={progress['excluded_total']} opened={progress['opens']} "
        f"clicked={progress['clicks']} unsubscribed={excluded.get('unsubscribed', 0)} "
        f"digests={digests['sent']}"
    )


def main() -> int:
    failing = asyncio.run(platform.down())
    if failing:
        raise SystemExit(f"not running: {', '.join(failing)}")
    print(asyncio.run(run()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
