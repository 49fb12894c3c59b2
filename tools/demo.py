"""`make demo`: one real campaign through every running service, then a second one.

Talks to the services only through their HTTP APIs and to the dev SMTP sink through its
listing, exactly as a platform team would. Every number of the last line is read back from
the services, not counted here:

    demo: recipients=N sent=N bounced=N excluded=N opened=N clicked=N unsubscribed=N digests=N
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx

COMPOSER = "http://127.0.0.1:8001"
RECIPIENTS = "http://127.0.0.1:8002"
NOTIFIER = "http://127.0.0.1:8005"
SINK = os.environ.get("SINK_API_URL", "http://127.0.0.1:8025")

CUSTOMERS = 10_000
BOUNCING = 5
DEFERRED = 3
SAMPLE = 60
UNSUBSCRIBING = 4
RUN = uuid.uuid4().hex[:6]


def say(text: str) -> None:
    print(f"  {text}", flush=True)


@dataclass
class Api:
    base: str
    key: str

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        response = httpx.request(
            method,
            self.base + path,
            headers={"Authorization": f"Bearer {self.key}", **(headers or {})},
            timeout=120,
            **kw,
        )
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None


# ---------------------------------------------------------------- tenant and staff


def bootstrap() -> dict[str, str]:
    out = subprocess.run(
        [
            sys.executable, "-m", "composer", "bootstrap",
            "--company", "株式会社デモ商事",
            "--address", "東京都千代田区丸の内1-1-1",
            "--contact", "03-1234-5678 / support@demo.example.com",
            "--time-zone", "Asia/Tokyo",
            "--admin-name", "管理 太郎",
            "--admin-email", f"admin-{RUN}@demo.example.com",
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def create_staff(admin: Api) -> list[dict[str, Any]]:
    people = [
        ("営業 花子", "manager", "営業部 花子\nTEL 03-1111-2222"),
        ("販売 次郎", "manager", "販売部 次郎\nTEL 03-3333-4444"),
        ("佐藤 一郎", "member", "佐藤 一郎 / 第一営業課"),
        ("鈴木 二郎", "member", "鈴木 二郎 / 第二営業課"),
        ("高橋 三郎", "member", ""),
    ]
    staff = []
    for i, (name, role, signature) in enumerate(people):
        email = f"staff{i}-{RUN}@demo.example.com"
        body = {"name": name, "email": email, "role": role, "signature": signature}
        staff.append(admin.call("POST", "/v1/users", json=body))
    return staff


# ---------------------------------------------------------------- customers and groups


def customer_rows(owners: list[str]) -> list[dict[str, Any]]:
    family = ["山田", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田"]
    given = ["太郎", "花子", "健", "愛", "翔", "結衣", "大輝", "美咲"]
    rows = []
    for i in range(CUSTOMERS):
        if i < BOUNCING:
            local = f"bounce{i}-{RUN}"
        elif i < BOUNCING + DEFERRED:
            local = f"defer{i}-{RUN}"
        else:
            local = f"c{i}-{RUN}"
        rows.append(
            {
                "email": f"{local}@customers.example.com",
                "last_name": family[i % len(family)],
                "first_name": given[i % len(given)],
                "company": f"取引先{i % 50}株式会社",
                "attributes": {"plan": ["basic", "pro"][i % 2]},
                "owner_user_id": owners[i % len(owners)] if i % 2 == 0 else None,
            }
        )
    return rows


def seed_customers(api: Api, owners: list[str]) -> list[str]:
    """Imports customers and four groups; returns the group ids."""
    rows = customer_rows(owners)
    ndjson = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    report = api.call(
        "POST",
        "/v1/customers/import",
        content=ndjson.encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    say(f"imported customers: {report}")
    emails = [r["email"] for r in rows]
    groups = []
    for name, members in [
        ("全顧客 前半", emails[: CUSTOMERS // 2]),
        ("全顧客 後半", emails[CUSTOMERS // 2 :]),
        ("プロプラン", emails[1::2]),
        ("配信除外テスト", emails[-20:]),
    ]:
        group = api.call("POST", "/v1/groups", json={"name": name})
        lines = "\n".join(json.dumps({"email": e}) for e in members)
        api.call(
            "POST",
            f"/v1/groups/{group['id']}/members/import",
            content=(lines + "\n").encode(),
            headers={"Content-Type": "application/x-ndjson"},
        )
        groups.append(group["id"])
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


def compose(api: Api, name: str, groups: list[str]) -> dict[str, Any]:
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
    return api.call("POST", "/v1/campaigns", json=body)


def schedule_shortly(api: Api, campaign_id: str, seconds: int = 5) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")
    api.call("POST", f"/v1/campaigns/{campaign_id}/schedule", json={"send_at": at})
    say(f"campaign {campaign_id} scheduled for {at}")


def wait_until_sent(api: Api, campaign_id: str, limit: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    last = ""
    while True:
        progress = api.call("GET", f"/v1/campaigns/{campaign_id}/progress")
        line = (
            f"  {progress['state']:<9} total={progress['total']} sent={progress['sent']} "
            f"bounced={progress['bounced']} soft={progress['soft_bounced']} "
            f"excluded={progress['excluded_total']} opens={progress['opens']} "
            f"clicks={progress['clicks']}"
        )
        if line != last:
            print(line, flush=True)
            last = line
        if progress["state"] == "sent":
            return progress
        if time.monotonic() > deadline:
            raise SystemExit(f"campaign {campaign_id} not sent after {limit:.0f} s")
        time.sleep(1)


# ---------------------------------------------------------------- what recipients do


def caught_mails(limit: int) -> list[dict[str, Any]]:
    """A random sample of this run's delivered mails, looked up in the sink by recipient."""
    first = BOUNCING + DEFERRED
    sample = random.Random(7).sample(range(first, CUSTOMERS), limit)
    mails = []
    with httpx.Client(timeout=60) as client:
        for i in sample:
            found = client.get(
                f"{SINK}/messages", params={"to": f"c{i}-{RUN}@customers.example.com"}
            )
            mails += found.raise_for_status().json()[:1]
    return mails


def links_of(message_id: Any) -> tuple[str | None, list[str], str | None]:
    raw = httpx.get(f"{SINK}/messages/{message_id}/raw", timeout=30).content
    mail = message_from_bytes(raw, policy=policy.default)
    html = mail.get_body(("html",))
    text = html.get_content() if html else ""
    pixel = re.search(r'<img[^>]+src="([^"]+/o/[^"]+)"', text)
    clicks = re.findall(r'href="([^"]+/c/[^"]+)"', text)
    unsubscribe = re.search(r"<(https?://[^>]+/u/[^>]+)>", str(mail["List-Unsubscribe"] or ""))
    return (
        pixel.group(1) if pixel else None,
        clicks,
        unsubscribe.group(1) if unsubscribe else None,
    )


def behave_like_recipients() -> None:
    mails = caught_mails(SAMPLE)
    opened = clicked = unsubscribed = 0
    ua = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"}
    with httpx.Client(timeout=30, headers=ua) as client:
        for i, mail in enumerate(mails):
            pixel, clicks, unsubscribe = links_of(mail["id"])
            if pixel:
                client.get(pixel)
                opened += 1
                if i % 3 == 0:
                    client.get(pixel)  # a re-open within the hour: counted, not notified
            if clicks and i % 2 == 0:
                client.get(clicks[0], follow_redirects=False)
                clicked += 1
            if unsubscribe and i < UNSUBSCRIBING:
                client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
                unsubscribed += 1
    say(f"followed {opened} pixels, {clicked} links, {unsubscribed} one-click unsubscribes")


def close_digest_periods() -> dict[str, Any]:
    as_of = (datetime.now(UTC) + timedelta(days=2)).isoformat(timespec="seconds")
    response = httpx.post(f"{NOTIFIER}/v1/admin/close-periods", json={"as_of": as_of}, timeout=300)
    response.raise_for_status()
    return response.json()


# ---------------------------------------------------------------- the run


def main() -> int:
    say("bootstrapping a tenant")
    keys = bootstrap()
    admin = Api(COMPOSER, keys["api_key"])
    staff = create_staff(admin)
    manager = Api(COMPOSER, staff[0]["api_key"])
    say(f"tenant {keys['tenant_id']}: admin, {len(staff)} staff")

    people = Api(RECIPIENTS, keys["api_key"])
    groups = seed_customers(people, [s["id"] for s in staff])

    first = compose(manager, "新サービス案内 第1弾", groups)
    schedule_shortly(manager, first["id"])
    progress = wait_until_sent(manager, first["id"])

    say("following tracking links from delivered mail")
    behave_like_recipients()
    time.sleep(3)
    digests = close_digest_periods()
    say(f"closed digest periods: {digests}")

    second = compose(manager, "新サービス案内 第2弾", groups)
    manager.call("POST", f"/v1/campaigns/{second['id']}/send")
    second_progress = wait_until_sent(manager, second["id"])
    excluded = second_progress["excluded"]
    say(f"second campaign excluded {excluded}")
    if excluded.get("bounced", 0) < BOUNCING or excluded.get("unsubscribed", 0) < 1:
        raise SystemExit("the second campaign did not exclude bounced and unsubscribed customers")

    progress = manager.call("GET", f"/v1/campaigns/{first['id']}/progress")
    unsubscribed = excluded.get("unsubscribed", 0)
    recipients = progress["total"] + progress["excluded_total"]
    print(
        f"demo: recipients={recipients} sent={progress['sent']} "
        f"bounced={progress['bounced'] + progress['soft_bounced']} "
        f"excluded={progress['excluded_total']} opened={progress['opens']} "
        f"clicked={progress['clicks']} unsubscribed={unsubscribed} "
        f"digests={digests['sent']}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
