"""Owners confirmed by the composer: GET /v1/users/{id} with the caller's key, answers
remembered for a while, a composer in trouble is 503 rather than a wrong answer."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import HTTPException

from recipients.adapters.composer import ComposerStaff

TENANT = uuid.uuid4()


def composer(users: set[uuid.UUID], asked: list[httpx.Request], status: int | None = None):
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if status is not None:
            return httpx.Response(status)
        known = uuid.UUID(request.url.path.rsplit("/", 1)[-1]) in users
        return httpx.Response(200 if known else 404, json={})

    transport = httpx.MockTransport(answer)
    return httpx.AsyncClient(transport=transport, base_url="http://composer")


async def test_users_the_composer_does_not_know_are_unknown_and_answers_are_kept() -> None:
    user, stranger = uuid.uuid4(), uuid.uuid4()
    asked: list[httpx.Request] = []
    async with composer({user}, asked) as client:
        staff = ComposerStaff(client)
        assert await staff.unknown("bm_key_1", TENANT, [user, stranger, user]) == {stranger}
        assert await staff.unknown("bm_key_1", TENANT, [user, stranger]) == {stranger}
    assert len(asked) == 2
    assert {r.headers["authorization"] for r in asked} == {"Bearer bm_key_1"}
    assert {r.url.path for r in asked} == {f"/v1/users/{user}", f"/v1/users/{stranger}"}


async def test_unknown_users_are_asked_again_sooner() -> None:
    stranger = uuid.uuid4()
    asked: list[httpx.Request] = []
    async with composer(set(), asked) as client:
        staff = ComposerStaff(client, unknown_ttl=0)
        await staff.unknown("bm_key_1", TENANT, [stranger])
        await staff.unknown("bm_key_1", TENANT, [stranger])
    assert len(asked) == 2


@pytest.mark.parametrize("status", [401, 500, 503])
async def test_a_composer_that_cannot_answer_is_503(status: int) -> None:
    async with composer(set(), [], status) as client:
        with pytest.raises(HTTPException) as error:
            await ComposerStaff(client).unknown("bm_key_1", TENANT, [uuid.uuid4()])
    assert error.value.status_code == 503
