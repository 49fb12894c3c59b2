"""Clients for services with several instances: turns, and failover on a refused connection."""

from __future__ import annotations

import itertools

import httpx
import pytest

from servicekit.peers import FailoverTransport, peer_client, peer_urls


def instances(down: set[int]) -> tuple[httpx.MockTransport, list[str]]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        port = request.url.port or 80
        if port in down:
            raise httpx.ConnectError("connection refused", request=request)
        seen.append(f"{port} {request.headers['host']} {request.url.path}")
        return httpx.Response(200, json={"port": port})

    return httpx.MockTransport(answer), seen


def client(urls: str, inner: httpx.MockTransport) -> httpx.AsyncClient:
    bases = peer_urls(urls)
    return httpx.AsyncClient(base_url=bases[0], transport=FailoverTransport(bases, inner))


async def test_requests_take_turns_over_the_instances() -> None:
    inner, seen = instances(down=set())
    async with client("http://127.0.0.1:8001, http://127.0.0.1:8101", inner) as http:
        ports = [(await http.get("/v1/x")).json()["port"] for _ in range(4)]
    assert ports == [8001, 8101, 8001, 8101]
    assert seen[1] == "8101 127.0.0.1:8101 /v1/x", "path and Host follow the instance"


async def test_a_refused_connection_goes_to_the_next_instance() -> None:
    inner, _ = instances(down={8001})
    async with client("http://127.0.0.1:8001,http://127.0.0.1:8101", inner) as http:
        assert {(await http.get("/")).json()["port"] for _ in range(3)} == {8101}


async def test_when_every_instance_refuses_the_caller_sees_it() -> None:
    inner, _ = instances(down={8001, 8101})
    async with client("http://127.0.0.1:8001,http://127.0.0.1:8101", inner) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/")


def test_a_peer_needs_an_url() -> None:
    with pytest.raises(ValueError):
        peer_client(" , ", timeout=1.0)


async def test_clients_given_the_same_turns_share_one_round_robin() -> None:
    inner, _ = instances(down=set())
    bases, turns = peer_urls("http://127.0.0.1:8001,http://127.0.0.1:8101"), itertools.count()
    ports = []
    for _ in range(3):  # a client per request, as testkit's request() makes them
        transport = FailoverTransport(bases, inner, turns=turns)
        async with httpx.AsyncClient(base_url=bases[0], transport=transport) as http:
            ports.append((await http.get("/")).json()["port"])
    assert ports == [8001, 8101, 8001]
