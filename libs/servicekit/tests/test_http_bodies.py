"""Request bodies bounded while they stream, and the key checked before a large one is read."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from servicekit.api_errors import install_common_handlers
from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.errors import Invalid
from servicekit.http import BodyLimit, KeyBeforeBody
from testkit.asgi import started

LIMIT = 1000
KEY = {"Authorization": "Bearer bm_good_key"}


@dataclass
class Keys:
    asked: list[str] = field(default_factory=list)

    async def verify(self, api_key: str) -> Principal | None:
        self.asked.append(api_key)
        return (
            Principal(uuid.uuid4(), uuid.uuid4(), Role.MEMBER) if api_key == "bm_good_key" else None
        )


@dataclass(frozen=True)
class Ports:
    keys: Keys


class Note(BaseModel):
    text: str


def make_app(keys: Keys) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        yield {"ports": Ports(keys)}

    app = FastAPI(lifespan=lifespan)
    install_common_handlers(app)

    @app.post("/notes")
    async def note(body: Note, principal: CurrentPrincipal) -> dict[str, int]:
        return {"length": len(body.text)}

    @app.post("/upload")
    async def upload(request: Request, principal: CurrentPrincipal) -> dict[str, int]:
        return {"bytes": sum([len(chunk) async for chunk in request.stream()])}

    @app.post("/refuse")
    async def refuse(principal: CurrentPrincipal) -> None:
        raise Invalid.one("line 1", "unreadable")

    app.add_middleware(KeyBeforeBody, threshold=100)
    app.add_middleware(
        BodyLimit, limit=lambda scope: LIMIT * (10 if scope["path"] == "/upload" else 1)
    )
    return app


class Pieces:
    """A body in pieces; counts how many the app pulled."""

    def __init__(self, total: int, size: int = 100) -> None:
        self.total, self.size, self.pulled = total, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, self.total, self.size):
            self.pulled += 1
            yield b"x" * min(self.size, self.total - start)


async def chunked(*chunks: bytes) -> AsyncIterator[bytes]:
    """A body sent in these chunks, without a Content-Length."""
    for chunk in chunks:
        yield chunk


@pytest.fixture
async def keys() -> Keys:
    return Keys()


@pytest.fixture
async def client(keys: Keys) -> AsyncIterator[Any]:
    async with started(make_app(keys)) as service, service.client() as http:
        yield http


def assert_refused(response: Any, status: int, field_name: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errors"][0]["field"] == field_name and body["detail"]
    assert response.headers["connection"] == "close"


async def test_a_declared_length_over_the_limit_is_refused_unread(client: Any) -> None:
    body = Pieces(LIMIT * 20)
    response = await client.post(
        "/upload", content=body, headers=KEY | {"Content-Length": str(LIMIT * 20)}
    )
    assert_refused(response, 413, "body")
    assert body.pulled == 0


async def test_a_chunked_body_is_cut_off_at_the_limit(client: Any) -> None:
    body = Pieces(LIMIT * 20)
    response = await client.post("/upload", content=body, headers=KEY)
    assert_refused(response, 413, "body")
    assert body.pulled <= LIMIT * 10 // body.size + 1


async def test_a_body_longer_than_its_declared_length_is_cut_off(client: Any) -> None:
    response = await client.post(
        "/notes",
        content=b'{"text": "' + b"x" * 5000 + b'"}',
        headers=KEY | {"Content-Length": "10"},
    )
    assert_refused(response, 413, "body")


async def test_json_routes_have_the_smaller_limit_even_when_chunked(client: Any) -> None:
    note = chunked(b'{"text": "', *[b"x" * 100] * 20, b'"}')
    response = await client.post("/notes", content=note, headers=KEY)
    assert_refused(response, 413, "body")
    small = await client.post("/notes", json={"text": "hello"}, headers=KEY)
    assert small.status_code == 200 and small.json() == {"length": 5}


async def test_bodies_within_the_limit_are_read_whole(client: Any) -> None:
    response = await client.post("/upload", content=Pieces(LIMIT * 10), headers=KEY)
    assert response.status_code == 200 and response.json() == {"bytes": LIMIT * 10}


async def test_a_large_body_without_a_valid_key_is_refused_before_it_is_read(
    client: Any, keys: Keys
) -> None:
    for headers in ({}, {"Authorization": "Bearer bm_forged_key"}, {"Authorization": "Basic x"}):
        body = Pieces(LIMIT * 5)
        response = await client.post("/upload", content=body, headers=headers)
        assert_refused(response, 401, "authorization")
        assert body.pulled == 0
        assert response.headers["www-authenticate"] == "Bearer"
    assert keys.asked == ["bm_forged_key"]


async def test_small_bodies_leave_the_key_to_the_route(client: Any, keys: Keys) -> None:
    response = await client.post("/notes", json={"text": "hi"})
    assert response.status_code == 401 and keys.asked == []


async def test_an_early_answer_drains_a_declared_body_but_closes_on_a_chunked_one(
    client: Any,
) -> None:
    declared = await client.post("/refuse", content=b"x" * 500, headers=KEY)
    assert declared.status_code == 422 and "connection" not in declared.headers
    chunked = await client.post("/refuse", content=Pieces(500), headers=KEY)
    assert chunked.status_code == 422 and chunked.headers["connection"] == "close"
