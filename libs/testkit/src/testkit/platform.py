"""The platform's public surfaces as a client: the services' HTTP APIs with one user's key,
tenants made through the composer's operator command, customers, groups, campaigns,
progress and digests. Shared by the end-to-end tests, the benchmarks and the demo.

Where the services are and how one request reaches them: `testkit.endpoints`.
Every tenant made here carries a random marker in its addresses, so runs never see each
other's data. Its staff are on a sending domain of its own, `<marker>.staff.example.com`,
registered, published in the local DNS server and verified as it is made.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from testkit import dns
from testkit.endpoints import LOCAL as LOCAL
from testkit.endpoints import Endpoints as Endpoints
from testkit.endpoints import HttpError as HttpError
from testkit.endpoints import down as down
from testkit.endpoints import instances as instances
from testkit.endpoints import request as request
from testkit.waiting import until


def tag() -> str:
    """A short random marker for addresses and names of one run."""
    return uuid.uuid4().hex[:10]


# ---------------------------------------------------------------- HTTP APIs


@dataclass(frozen=True)
class Api:
    """One service's HTTP API, called with one user's key."""

    base_url: str
    key: str

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw response, whatever its status (for tests about refusals)."""
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return await request(self.base_url, method, path, headers=headers, **kwargs)

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
    endpoints: Endpoints = LOCAL

    @property
    def recipients(self) -> Api:
        return self.composer.on(self.endpoints.recipients)


@dataclass
class Tenant:
    """A tenant made for one test module, with its admin; more staff on demand."""

    id: str
    marker: str
    admin: User
    staff: list[User] = field(default_factory=list)
    domain: str = "staff.example.com"  # its verified sending domain

    @property
    def endpoints(self) -> Endpoints:
        return self.admin.endpoints

    def address(self, local: str, domain: str = "customers.example.com") -> str:
        """A customer or staff address unique to this tenant; `local` keeps its prefix, so
        `bounce…` and `defer…` keep their meaning for the dev sink."""
        return f"{local}-{self.marker}@{domain}"

    def staff_address(self, local: str) -> str:
        """An address on the tenant's sending domain, for staff and registered senders."""
        return f"{local}@{self.domain}"

    async def add_user(self, name: str, role: str, signature: str = "") -> User:
        body = {
            "name": name,
            "email": self.staff_address(f"staff{len(self.staff) + 1}"),
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
            composer=Api(self.endpoints.composer, created["api_key"]),
            endpoints=self.endpoints,
        )
        self.staff.append(user)
        return user


async def new_tenant(
    company: str = "E2E 株式会社",
    *,
    contact: str = "03-0000-0000",
    time_zone: str = "Asia/Tokyo",
    endpoints: Endpoints = LOCAL,
    env: Mapping[str, str] | None = None,
) -> Tenant:
    """A new tenant and its admin through the composer's operator command (run with `env`,
    which names the composer's database and DNS server, when the services are not the
    local stack's), its sending domain verified."""
    marker = tag()
    domain = f"{marker}.staff.example.com"
    admin_email = f"admin@{domain}"
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable, "-m", "composer", "bootstrap",
            "--company", company,
            "--address", "東京都千代田区丸の内1-1-1",
            "--contact", contact,
            "--time-zone", time_zone,
            "--admin-name", "管理 太郎",
            "--admin-email", admin_email,
            "--admin-signature", "管理 太郎 / E2E",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else dict(env),
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"composer bootstrap failed ({done.returncode}): {done.stderr[-2000:]}")
    keys = json.loads(done.stdout.strip().splitlines()[-1])
    admin = User(
        id=keys["user_id"],
        name="管理 太郎",
        email=admin_email,
        role="admin",
        signature="管理 太郎 / E2E",
        composer=Api(endpoints.composer, keys["api_key"]),
        endpoints=endpoints,
    )
    await dns.verify_sending_domains(admin.composer, env)
    return Tenant(id=keys["tenant_id"], marker=marker, admin=admin, domain=domain)


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


async def wait_until_sent(
    api: Api,
    campaign_id: str,
    within: float = 60,
    *,
    seen: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """The campaign's progress once it reached the sent folder; `seen` is shown every
    progress read on the way."""

    async def look() -> dict[str, Any]:
        found = await progress(api, campaign_id)
        seen(found)
        return found

    return await until(
        look,
        lambda p: p["state"] == "sent",
        within=within,
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


async def digest_stats(tenant: Tenant) -> dict[str, int]:
    """The notifier's digest and hit counters of the tenant, asked with its admin's key."""
    return dict(
        await tenant.admin.composer.on(tenant.endpoints.notifier).call("GET", "/v1/digests/stats")
    )


async def close_periods(
    tenant_id: str | None, *, days_ahead: int = 2, endpoints: Endpoints = LOCAL
) -> dict[str, Any]:
    """Closes every digest period (of the tenant, or of all) that ends within `days_ahead`
    days from now (daily ones included), and waits for the digests to be sent."""
    as_of = datetime.now(UTC) + timedelta(days=days_ahead)
    body: dict[str, Any] = {"as_of": as_of.isoformat(), "wait_s": 60}
    if tenant_id is not None:
        body["tenant_id"] = tenant_id
    response = await request(
        endpoints.notifier, "POST", "/v1/admin/close-periods", json=body, seconds=180
    )
    if response.status_code >= 400:
        raise HttpError(response)
    return dict(response.json())
