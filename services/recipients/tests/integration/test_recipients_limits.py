"""Hostile import bodies over HTTP: bounded while they stream, the key checked before a
large body is read, only the allowed charsets, limits on lines, records and rows. Nothing
of a refused file is imported."""

from __future__ import annotations

import bz2
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .conftest import Service, private_namespace_and_schema, running, settings_for

LIMITS = {
    "max_request_bytes": 2_000,
    "import_max_bytes": 50_000,
    "import_max_line_bytes": 1_000,
    "import_max_record_bytes": 2_000,
    "import_max_rows": 50,
}
CSV = {"Content-Type": "text/csv"}


@pytest.fixture(scope="module")
async def small(stack: Any) -> AsyncIterator[Service]:
    async with (
        private_namespace_and_schema(stack) as (namespace, schema),
        running(settings_for(stack, namespace, schema, **LIMITS)) as service,
    ):
        yield service


class Pieces:
    """A body of a head, `count` times `piece`, and a tail; counts the pieces the service
    pulled."""

    def __init__(self, head: bytes, piece: bytes, count: int, tail: bytes = b"") -> None:
        self.head, self.piece, self.count, self.tail, self.pulled = head, piece, count, tail, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        for _ in range(self.count):
            self.pulled += 1
            yield self.piece
        if self.tail:
            yield self.tail


async def refused(service: Service, auth: dict[str, str], body: Any, status: int, **headers: str):
    response = await service.http.post(
        "/v1/customers/import", content=body, headers=auth | CSV | headers
    )
    assert response.status_code == status, response.text
    listed = await service.http.get("/v1/customers", headers=auth)
    assert listed.json()["items"] == [], "a refused file imported rows"
    return response.json()


async def test_a_declared_body_over_the_import_limit_is_refused_unread(small: Service) -> None:
    body = Pieces(b"email\n", b"a@example.com\n" * 100, 1_000)
    error = await refused(small, small.keys.add(), body, 413, **{"Content-Length": "1400006"})
    assert error["errors"][0] == {"field": "body", "reason": "request body larger than 50000 bytes"}
    assert body.pulled == 0


async def test_a_chunked_body_is_cut_off_at_the_import_limit(small: Service) -> None:
    # Blank NDJSON lines are no rows: only the byte limit stops this body.
    body = Pieces(b"\n", b" " * 900 + b"\n", 1_000)
    ndjson = {"Content-Type": "application/x-ndjson"}
    error = await refused(small, small.keys.add(), body, 413, **ndjson)
    assert error["errors"][0]["field"] == "body"
    assert body.pulled < 60


async def test_json_bodies_have_the_small_limit(small: Service) -> None:
    customer = Pieces(b'{"email": "a@example.com", "company": "', b"x" * 100, 30, b'"}')
    response = await small.http.post("/v1/customers", content=customer, headers=small.keys.add())
    assert response.status_code == 413, response.text


async def test_a_large_body_without_a_valid_key_is_refused_before_it_is_read(
    small: Service,
) -> None:
    for auth in ({}, {"Authorization": "Bearer bm_forged_0123456789"}):
        body = Pieces(b"email\n", b"a@example.com\n" * 100, 20)
        response = await small.http.post("/v1/customers/import", content=body, headers=auth | CSV)
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["field"] == "authorization"
        assert body.pulled == 0


async def test_lines_records_and_rows_are_limited_naming_the_line(small: Service) -> None:
    auth = small.keys.add()
    long_line = b"email\na@example.com\n" + b"b" * 1_001 + b"\n"
    error = await refused(small, auth, long_line, 422)
    assert error["line"] == 3 and "1000 bytes" in error["detail"]

    unclosed = Pieces(b'email,company\na@example.com,"\n', b"b@example.com,x\n", 1_000)
    error = await refused(small, auth, unclosed, 422)
    assert error["line"] == 2 and "2000 bytes" in error["detail"]
    assert unclosed.pulled < 200

    rows = b"email\n" + b"".join(b"r%d@example.com\n" % n for n in range(51))
    error = await refused(small, auth, rows, 413)
    assert error["line"] == 52 and "more than 50 rows" in error["detail"]


@pytest.mark.parametrize(
    "charset", ["bz2_codec", "zlib_codec", "base64_codec", "utf-16", "utf-7", "latin-1"]
)
async def test_charsets_other_than_the_allowed_ones_are_refused(
    small: Service, charset: str
) -> None:
    body = bz2.compress(b"a" * (64 << 20)) if charset == "bz2_codec" else b"email\n"
    error = await refused(
        small, small.keys.add(), body, 415, **{"Content-Type": f"text/csv; charset={charset}"}
    )
    [item] = error["errors"]
    assert item["field"] == "charset" and charset in item["reason"]
    assert item["allowed"] == ["utf-8", "shift_jis", "cp932", "euc-jp"]


async def test_an_unknown_field_in_an_audience_query_is_refused(small: Service) -> None:
    body = {"recipients": {"customer_ids": [], "include_groups": []}}
    response = await small.http.post("/v1/audience/count", json=body, headers=small.keys.add())
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "recipients.include_groups"
