"""Hostile input against the running notifier (NOTIFIER_URL, the stack's by default): its
statistics need an API key (made through the composer, COMPOSER_URL) and show its own tenant
only; malformed and oversized bodies get a clear 4xx before anything reads them; no answer
shows an exception; the service keeps answering and its memory stays bounded."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from tracking_tests_support import LEAK, rss_mb

from testkit.hostile import raw
from testkit.platform import LOCAL, Tenant, new_tenant

NOTIFIER = LOCAL.notifier
PORT = urlsplit(NOTIFIER).port or 80
MAX_BODY = int(os.environ.get("MAX_REQUEST_BYTES", str(64 * 1024)))
STATS = "/v1/digests/stats"
CLOSE = "/v1/admin/close-periods"


@pytest.fixture(scope="module", autouse=True)
def memory_before() -> float:
    return rss_mb(PORT, "notifier")


@pytest.fixture(scope="module")
async def tenants() -> tuple[Tenant, Tenant]:
    return await new_tenant("攻撃 株式会社"), await new_tenant("隣の 株式会社")


def key(tenant: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.admin.composer.key}"}


async def request(method: str, path: str, **options: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=NOTIFIER, timeout=30) as http:
        response = await http.request(method, path, **options)  # type: ignore[arg-type]
    assert not LEAK.search(response.text), response.text[:500]
    return response


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer"}, 401),
        ({"Authorization": "Bearer bm_0123456789abcdef_forged"}, 401),
        ({"Authorization": "Bearer " + "bm_" + "x" * 5000}, 401),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, 401),
        ({"Authorization": "bearer \x7f\x01"}, 400),  # the HTTP parser refuses it first
    ],
    ids=["none", "empty", "forged", "long", "basic", "control"],
)
async def test_statistics_without_a_valid_key_are_refused(headers, status) -> None:
    response = await request("GET", STATS, headers=headers)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.json()["errors"][0]["field"] == "authorization"
    assert (await request("GET", STATS, params={"tenant_id": str(uuid.uuid4())})).status_code == 401


async def test_another_tenants_statistics_are_not_visible(tenants) -> None:
    mine, theirs = tenants
    own = await request("GET", STATS, headers=key(mine))
    assert own.status_code == 200 and set(own.json()) >= {"digests_sent", "first_opens"}
    for tenant_id in (theirs.id, str(uuid.uuid4())):
        other = await request("GET", STATS, params={"tenant_id": tenant_id}, headers=key(mine))
        assert other.status_code == 403 and other.json()["errors"][0]["field"] == "tenant_id"
    malformed = await request("GET", STATS, params={"tenant_id": "' OR 1=1 --"}, headers=key(mine))
    assert malformed.status_code == 422


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 422),
        (b'{"as_of": "2026-11-27T00:00"}', {"Content-Type": "application/json"}, 422),
        (b'{"as_of": "soon", "wait_s": 1e308}', {"Content-Type": "application/json"}, 422),
        (b'{"as_of": ["2026-11-27T00:00:00+09:00"]}', {"Content-Type": "application/json"}, 422),
        (b"[" * 50_000, {"Content-Type": "application/json"}, (400, 422)),
        (b"\xff\xfe\x00garbage", {"Content-Type": "application/json"}, (400, 422)),
        (b"as_of=now", {"Content-Type": "application/x-www-form-urlencoded"}, 422),
        (b"x" * (MAX_BODY + 1), {"Content-Type": "application/json"}, 413),
    ],
    ids=["not-json", "naive-time", "bad-values", "wrong-type", "deep", "binary", "form",
         "oversized"],
)  # fmt: skip
async def test_malformed_bodies_get_a_clear_4xx(body, headers, status) -> None:
    response = await request("POST", CLOSE, content=body, headers=headers)
    assert response.status_code in (status if isinstance(status, tuple) else (status,))


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: 99999999999\r\n\r\n{",
        b"Transfer-Encoding: chunked\r\n\r\n" + (b"1000\r\n" + b"[" * 0x1000 + b"\r\n") * 20,
    ],
    ids=["declared", "chunked"],
)
async def test_a_body_past_the_cap_is_refused_before_it_is_read(head: bytes) -> None:
    host = urlsplit(NOTIFIER).hostname or "127.0.0.1"
    start = f"POST {CLOSE} HTTP/1.1\r\nHost: n\r\nContent-Type: application/json\r\n"
    answer = await raw(host, PORT, start.encode() + head)
    assert answer.startswith(b"HTTP/1.1 413 ") and b'"field":"body"' in answer, answer[:300]
    assert not LEAK.search(answer.decode("latin-1"))


async def test_the_service_still_answers_and_its_memory_stayed_bounded(memory_before) -> None:
    assert (await request("GET", "/healthz")).status_code == 200
    assert rss_mb(PORT, "notifier") < memory_before + 64, "memory grew by more than 64 MB"
