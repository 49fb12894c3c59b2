"""What the end-to-end tests share: the running services' HTTP APIs, the dev SMTP sink's
listing, and a fresh tenant per test module.

Tests import this module as `e2e_helpers` (tests/e2e/conftest.py loads it under that name;
importlib mode keeps test folders off sys.path). Everything here talks to the stack from
`make up` only through its public surfaces: HTTP, the sink's JSON listing, operator commands.
Every tenant and every customer address is new (a random tag in the local part), so tests
never see each other's data and can run again and again against the same stack.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import pytest

COMPOSER = os.environ.get("COMPOSER_URL", "http://127.0.0.1:8001")
RECIPIENTS = os.environ.get("RECIPIENTS_URL", "http://127.0.0.1:8002")
DELIVERY = os.environ.get("DELIVERY_URL", "http://127.0.0.1:8003")
TRACKING = os.environ.get("TRACKING_BASE_URL", "http://127.0.0.1:8004")
NOTIFIER = os.environ.get("NOTIFIER_URL", "http://127.0.0.1:8005")
SINK = os.environ.get("SINK_API_URL", "http://127.0.0.1:8025")
SERVICES = {
    "composer": COMPOSER,
    "recipients": RECIPIENTS,
    "delivery": DELIVERY,
    "tracking": TRACKING,
    "notifier": NOTIFIER,
}

#: A mail client, so tracking does not flag the hit as automatic (machine hits are never
#: notified). Generic HTTP libraries are not flagged either, but a real UA says what we mean.
MAIL_CLIENT = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"}

T = TypeVar("T")


def tag() -> str:
    """A short random marker for addresses and names of one test run."""
    return uuid.uuid4().hex[:10]


async def require_services(*names: str) -> None:
    """Fail (never skip) with a clear message when a service of the stack does not answer."""
    down = []
    async with httpx.AsyncClient(timeout=5) as http:
        for name in names or tuple(SERVICES):
            try:
                (await http.get(f"{SERVICES[name]}/healthz")).raise_for_status()
            except httpx.HTTPError as exc:
                down.append(f"{name} ({SERVICES[name]}: {exc!r})")
    if down:
        pytest.fail(f"not running: {', '.join(down)}; run `make up`", pytrace=False)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.3,
) -> T:
    """Polls `probe` until `done(result)`; fails with the last result after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            last = repr(result)
            last = last if len(last) < 2000 else last[:2000] + "…"
            raise AssertionError(f"{what}: not reached within {timeout:.0f}s; last: {last}")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------- HTTP APIs


class HttpError(AssertionError):
    def __init__(self, response: httpx.Response) -> None:
        request = response.request
        super().__init__(
            f"{request.method} {request.url} -> {response.status_code}: {response.text[:1000]}"
        )
        self.response = response


@dataclass(frozen=True)
class Api:
    """One service's HTTP API, called with one user's key."""

    base_url: str
    key: str

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw response, whatever its status (for tests about refusals)."""
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=120) as http:
            return await http.request(method, path, headers=headers, **kwargs)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded answer of a request that must succeed."""
        response = await self.send(method, path, **kwargs)
        if response.status_code >= 400:
            raise HttpError(response)
        return response.json() if response.content else None

    def on(self, base_url: str) -> Api:
        """The same user's key on another service (the tenant comes from the key)."""
        return Api(base_url, self.key)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    role: str
    signature: str
    composer: Api

    @property
    def recipients(self) -> Api:
        return self.composer.on(RECIPIENTS)


@dataclass
class Tenant:
    """A tenant made for one test module, with its admin; more staff on demand."""

    id: str
    marker: str
    admin: User
    staff: list[User] = field(default_factory=list)

    def address(self, local: str, domain: str = "customers.example.com") -> str:
        """A customer or staff address unique to this tenant; `local` keeps its prefix, so
        `bounce…` and `defer…` keep their meaning for the dev sink."""
        return f"{local}-{self.marker}@{domain}"

    async def add_user(self, name: str, role: str, signature: str = "") -> User:
        body = {
            "name": name,
            "email": self.address(f"staff{len(self.staff) + 1}", "staff.example.com"),
            "role": role,
            "signature": signature,
        }
        created = await self.admin.composer.call("POST", "/v1/users", json=body)
        user = User(
            id=created["id"],
            name=created["name"],
            email=created["email"],
            role=created["role"],
            signature=created["signature"],
            composer=Api(COMPOSER, created["api_key"]),
        )
        self.staff.append(user)
        return user


async def new_tenant(company: str = "E2E 株式会社", *, time_zone: str = "Asia/Tokyo") -> Tenant:
    """A new tenant and its admin through the composer's operator command."""
    marker = tag()
    admin_email = f"admin-{marker}@staff.example.com"
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable, "-m", "composer", "bootstrap",
            "--company", company,
            "--address", "東京都千代田区丸の内1-1-1",
            "--contact", "03-0000-0000",
            "--time-zone", time_zone,
            "--admin-name", "管理 太郎",
            "--admin-email", admin_email,
            "--admin-signature", "管理 太郎 / E2E",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"composer bootstrap failed ({done.returncode}): {done.stderr[-2000:]}")
    keys = json.loads(done.stdout.strip().splitlines()[-1])
    admin = User(
        id=keys["user_id"],
        name="管理 太郎",
        email=admin_email,
        role="admin",
        signature="管理 太郎 / E2E",
        composer=Api(COMPOSER, keys["api_key"]),
    )
    return Tenant(id=keys["tenant_id"], marker=marker, admin=admin)


# ---------------------------------------------------------------- recipients


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    last_name: str = ""
    first_name: str = ""


async def add_customers(api: Api, rows: Sequence[Mapping[str, Any]]) -> list[Customer]:
    """Adds customers one by one (as staff would in the UI), in the order of `rows`."""
    created = [await api.call("POST", "/v1/customers", json=dict(row)) for row in rows]
    return [
        Customer(
            id=str(c["id"]), email=c["email"], last_name=c["last_name"], first_name=c["first_name"]
        )
        for c in created
    ]


async def import_customers(api: Api, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The bulk import (NDJSON); every row must be taken."""
    report = await api.call(
        "POST",
        "/v1/customers/import",
        content=ndjson(rows),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert report["rejected"] == 0, f"import rejected rows: {report}"
    return dict(report)


async def get_customer(api: Api, customer_id: str) -> dict[str, Any]:
    return dict(await api.call("GET", f"/v1/customers/{customer_id}"))


async def add_group(api: Api, name: str, members: Iterable[Customer] = ()) -> str:
    group_id = str((await api.call("POST", "/v1/groups", json={"name": name}))["id"])
    ids = [c.id for c in members]
    if ids:
        await api.call("POST", f"/v1/groups/{group_id}/members", json={"customer_ids": ids})
    return group_id


async def import_members(api: Api, group_id: str, emails: Iterable[str]) -> dict[str, Any]:
    """The bulk membership import (NDJSON, customers named by address)."""
    report = await api.call(
        "POST",
        f"/v1/groups/{group_id}/members/import",
        content=ndjson({"email": e} for e in emails),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert report["rejected"] == 0, f"membership import rejected rows: {report}"
    return dict(report)


def ndjson(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows).encode()


def is_unsubscribed(customer: Mapping[str, Any]) -> bool:
    return bool(customer["unsubscribed"] and customer["unsubscribed_at"])


def is_bounced(customer: Mapping[str, Any]) -> bool:
    return bool(customer["bounced"] and customer["bounced_at"])


# ---------------------------------------------------------------- campaigns


def campaign_body(customers: Iterable[Customer], **changes: Any) -> dict[str, Any]:
    """A valid campaign to the given customers; `changes` override any field."""
    body: dict[str, Any] = {
        "name": "E2E",
        "subject": "{{ last_name }}様へ E2E のご案内",
        "html_body": (
            "<html><body><p>{{ full_name }} 様</p>"
            '<p><a href="https://www.example.com/e2e">詳しくはこちら</a></p></body></html>'
        ),
        "text_body": "{{ full_name }} 様\n\n詳しくは https://www.example.com/e2e",
        "recipients": {"customer_ids": [c.id for c in customers]},
    }
    body.update(changes)
    return body


async def compose(api: Api, customers: Iterable[Customer], **changes: Any) -> dict[str, Any]:
    return dict(await api.call("POST", "/v1/campaigns", json=campaign_body(customers, **changes)))


async def progress(api: Api, campaign_id: str) -> dict[str, Any]:
    return dict(await api.call("GET", f"/v1/campaigns/{campaign_id}/progress"))


async def wait_until_sent(api: Api, campaign_id: str, timeout: float = 60) -> dict[str, Any]:
    """The campaign's progress once it reached the sent folder."""
    return await eventually(
        lambda: progress(api, campaign_id),
        lambda p: p["state"] == "sent",
        timeout=timeout,
        what=f"campaign {campaign_id} sent",
        interval=0.5,
    )


@dataclass(frozen=True)
class Sent:
    campaign: dict[str, Any]
    progress: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.campaign["id"])


async def send_now(api: Api, customers: Iterable[Customer], **changes: Any) -> Sent:
    """Composes a campaign, sends it now and waits until it is in the sent folder."""
    campaign = await compose(api, customers, **changes)
    await api.call("POST", f"/v1/campaigns/{campaign['id']}/send")
    return Sent(campaign, await wait_until_sent(api, campaign["id"]))


def in_seconds(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


# ---------------------------------------------------------------- notifier


async def digest_stats(tenant_id: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=NOTIFIER, timeout=30) as http:
        response = await http.get("/v1/digests/stats", params={"tenant_id": tenant_id})
    if response.status_code >= 400:
        raise HttpError(response)
    return dict(response.json())


async def close_periods(tenant_id: str, *, days_ahead: int = 2) -> dict[str, Any]:
    """Closes every digest period of the tenant that ends within `days_ahead` days from now
    (daily ones included), and waits for the digests to be sent."""
    as_of = datetime.now(UTC) + timedelta(days=days_ahead)
    async with httpx.AsyncClient(base_url=NOTIFIER, timeout=180) as http:
        response = await http.post(
            "/v1/admin/close-periods",
            json={"as_of": as_of.isoformat(), "tenant_id": tenant_id, "wait_s": 60},
        )
    if response.status_code >= 400:
        raise HttpError(response)
    return dict(response.json())


# ---------------------------------------------------------------- the dev SMTP sink


@dataclass(frozen=True)
class Caught:
    """One mail the sink accepted: its listing entry and the parsed message."""

    summary: dict[str, Any]
    mail: EmailMessage

    @property
    def header(self) -> Mapping[str, str]:
        return self.summary["headers"]

    def text(self) -> str:
        part = self.mail.get_body(("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.mail.get_body(("html",))
        return part.get_content() if part is not None else ""

    def pixel_url(self) -> str | None:
        found = re.search(r'<img[^>]+src="([^"]+/o/[^"]+)"', self.html())
        return found.group(1) if found else None

    def click_urls(self) -> list[str]:
        return re.findall(r'href="([^"]+/c/[^"]+)"', self.html())

    def unsubscribe_url(self) -> str | None:
        found = re.search(r"<(https?://[^>]+/u/[^>]+)>", str(self.mail["List-Unsubscribe"] or ""))
        return found.group(1) if found else None


async def sink_list(
    *, to: str | None = None, after: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"after": after, "limit": limit}
    if to:
        params["to"] = to
    async with httpx.AsyncClient(base_url=SINK, timeout=120) as http:
        response = await http.get("/messages", params=params)
    response.raise_for_status()
    return list(response.json())


async def sink_raw(message_id: int) -> EmailMessage:
    async with httpx.AsyncClient(base_url=SINK, timeout=30) as http:
        response = await http.get(f"/messages/{message_id}/raw")
    response.raise_for_status()
    mail = email.message_from_bytes(response.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


async def sink_high_water() -> int:
    """The id of the newest caught mail (0 when none): later mail has larger ids, so listing
    `after` it skips everything caught before. Found by probing, not by listing it all."""

    async def exists_after(n: int) -> bool:
        return bool(await sink_list(after=n, limit=1))

    low, high = 0, 1024
    while await exists_after(high):
        low, high = high, high * 2
    while high - low > 1:  # the answer is in (low, high]: mail after low, none after high
        middle = (low + high) // 2
        if await exists_after(middle):
            low = middle
        else:
            high = middle
    return high if await exists_after(low) else low


async def mail_to(address: str, *, campaign_id: str | None = None) -> list[Caught]:
    """Every mail caught for `address` (of one campaign when given), oldest first."""
    caught = []
    for summary in await sink_list(to=address):
        if campaign_id and summary["headers"].get("X-Campaign-ID") != campaign_id:
            continue
        caught.append(Caught(summary, await sink_raw(summary["id"])))
    return caught


async def wait_for_mail(
    address: str, *, campaign_id: str | None = None, count: int = 1, timeout: float = 30
) -> list[Caught]:
    return await eventually(
        lambda: mail_to(address, campaign_id=campaign_id),
        lambda found: len(found) >= count,
        timeout=timeout,
        what=f"{count} mail(s) to {address}"
        + (f" of campaign {campaign_id}" if campaign_id else ""),
    )


async def campaign_mail(
    campaign_id: str, *, after: int, page: int = 20_000
) -> list[dict[str, Any]]:
    """Listing entries of every caught mail of a campaign with an id after `after`."""
    found: list[dict[str, Any]] = []
    while batch := await sink_list(after=after, limit=page):
        found += [m for m in batch if m["headers"].get("X-Campaign-ID") == campaign_id]
        after = batch[-1]["id"]
    return found


async def first_campaign_mail(campaign_id: str, *, after: int, timeout: float) -> dict[str, Any]:
    """The listing entry of the first mail of a campaign caught after `after`, as soon as it
    is there; mail of others (tests, demos) caught meanwhile is skipped, not rescanned."""
    deadline = time.monotonic() + timeout
    while True:
        batch = await sink_list(after=after, limit=1000)
        for summary in batch:
            if summary["headers"].get("X-Campaign-ID") == campaign_id:
                return summary
        if batch:
            after = batch[-1]["id"]
        elif time.monotonic() > deadline:
            raise AssertionError(f"no mail of campaign {campaign_id} within {timeout:.0f}s")
        else:
            await asyncio.sleep(0.1)


async def follow(url: str, *, method: str = "GET", **kwargs: Any) -> httpx.Response:
    """What a mail client does with a link of a caught mail."""
    async with httpx.AsyncClient(timeout=30, headers=MAIL_CLIENT) as http:
        return await http.request(method, url, follow_redirects=False, **kwargs)


async def one_click_unsubscribe(url: str) -> httpx.Response:
    """RFC 8058: what a mailbox provider POSTs to the List-Unsubscribe URL."""
    return await follow(
        url,
        method="POST",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
