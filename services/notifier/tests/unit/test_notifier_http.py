"""The admin endpoint sends mail, so it is guarded: a bearer token, or loopback only."""

from __future__ import annotations

import httpx
import pytest

from notifier.main import create_app
from notifier.settings import Settings

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
