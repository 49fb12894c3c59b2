"""The HTTP API's guards: the admin endpoints (a bearer token, or loopback only), the digest
statistics (an API key, its own tenant only), and bounded request bodies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from notifier_tests_fakes import FakeClock, FakeKeys, FakeMailer, FakeStore, FakeSuppression
from notifier_tests_support import Scenario, to_hit

from notifier import handlers
from notifier.bootstrap import Ports
from notifier.main import create_app
from notifier.settings import Settings
from testkit.asgi import started
from testkit.fakes import FakeBus, FakeDatabase, IdleRelay

BODY = {"as_of": "2026-11-27T00:00:00+09:00"}


async def post(settings: Settings, client: tuple[str, int], headers: dict[str, str]) -> int:
    app = create_app(settings)  # no lifespan: a refused request never reaches the database
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as http:
        response = await http.post("/v1/admin/close-periods", json=BODY, headers=headers)
    return response.status_code


@pytest.mark.parametrize(
    ("token", "client", "headers", "status"),
    [
        ("s3cret", ("127.0.0.1", 5000), {}, 401),
        ("s3cret", ("127.0.0.1", 5000), {"Authorization": "Bearer wrong"}, 401),
        ("s3cret", ("127.0.0.1", 5000), {"Authorization": "Basic s3cret"}, 401),
        ("", ("192.0.2.7", 5000), {}, 403),
        ("", ("192.0.2.7", 5000), {"Authorization": "Bearer anything"}, 403),
    ],
)
async def test_close_periods_is_refused(
    token: str, client: tuple[str, int], headers: dict[str, str], status: int
) -> None:
    assert await post(Settings(admin_token=token), client, headers) == status


async def test_as_of_must_carry_a_time_zone() -> None:
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as http:
        response = await http.post("/v1/admin/close-periods", json={"as_of": "2026-11-27T00:00"})
    assert response.status_code == 422


class Service:
    """The app with its lifespan, over fakes; two tenants with one open each, and keys."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = FakeStore(self.clock)
        self.keys = FakeKeys()
        self.tenants = [Scenario(), Scenario()]

    @asynccontextmanager
    async def build(self, _: Settings) -> AsyncIterator[Ports]:
        yield Ports(
            database=FakeDatabase(),
            bus=FakeBus(),
            suppression=FakeSuppression(),
            hits=self.store,
            ledger=self.store,
            mailer=FakeMailer(),
            relay=IdleRelay(),
            clock=self.clock,
            keys=self.keys,
        )

    @asynccontextmanager
    async def client(self, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings(close_interval_s=3600, **settings), build=self.build)
        async with started(app) as service, service.client("http://notifier") as http:
            for scenario in self.tenants:
                await handlers.record_campaign(scenario.scheduled(), store=self.store)
                hit = to_hit(scenario.opened(uuid.uuid4(), scenario.scheduled().occurred_at))
                await handlers.ingest_hits([hit], suppression=FakeSuppression(), store=self.store)
            yield http


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer bm_unknown_key"}, {"Authorization": "Basic Zm9vOmJhcg=="}],
)
async def test_digest_stats_need_an_api_key(headers: dict[str, str]) -> None:
    async with Service().client() as http:
        response = await http.get("/v1/digests/stats", headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "authorization"


async def test_digest_stats_answer_for_the_keys_tenant_only() -> None:
    service = Service()
    mine, other = (s.tenant_id for s in service.tenants)
    key = service.keys.issue(mine)
    async with service.client() as http:
        own = await http.get("/v1/digests/stats", headers=key)
        named = await http.get("/v1/digests/stats", params={"tenant_id": str(mine)}, headers=key)
        theirs = await http.get("/v1/digests/stats", params={"tenant_id": str(other)}, headers=key)
    assert own.status_code == named.status_code == 200
    assert own.json()["first_opens"] == named.json()["first_opens"] == 1  # not 2: one tenant
    assert theirs.status_code == 403
    assert theirs.json()["errors"][0]["field"] == "tenant_id"


async def test_operators_see_every_tenant_through_the_admin_guard() -> None:
    async with Service().client(admin_token="s3cret") as http:
        refused = await http.get("/v1/admin/digests/stats")
        answered = await http.get(
            "/v1/admin/digests/stats", headers={"Authorization": "Bearer s3cret"}
        )
    assert refused.status_code == 401
    assert answered.status_code == 200 and answered.json()["first_opens"] == 2


async def test_request_bodies_are_bounded_before_anything_reads_them() -> None:
    async def chunks(total: int):  # no Content-Length: the body streams
        for _ in range(total // 8192):
            yield b"x" * 8192

    async with Service().client(max_request_bytes=1024) as http:
        declared = await http.post("/v1/admin/close-periods", content=b"{" * 2048)
        streamed = await http.post("/v1/admin/close-periods", content=chunks(64 * 8192))
        small = await http.post("/v1/admin/close-periods", content=b"{not json")
    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["errors"][0]["field"] == "body"
    assert small.status_code == 422
