"""Forged, truncated and altered tokens, through the HTTP endpoints: no event, ever.

Together the properties below send well over 10,000 tokens through real HTTP requests:
the pixel still answers with the image, click and unsubscribe with a plain 404.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tracking_tests_fakes import TOKENS, ForkedTracking, PipelinedClient, ids, sign

from servicekit.tokens import Claims, Kind, TokenCodec
from tracking.domain import PIXEL

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}
VALID = {
    Kind.OPEN: sign(Kind.OPEN),
    Kind.CLICK: sign(Kind.CLICK, url="https://shop.example/a"),
    Kind.UNSUBSCRIBE: sign(Kind.UNSUBSCRIBE),
}


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        database=None,
    )


@pytest.fixture(scope="module")
def tracking():
    with ForkedTracking() as server:
        yield server


@pytest.fixture(scope="module")
def client(tracking):
    c = PipelinedClient(tracking.port)
    yield c
    c.close()


def assert_rejected(tracking, client, token: str, kinds=(Kind.OPEN, Kind.CLICK, Kind.UNSUBSCRIBE)):
    path = quote(token, safe="")
    before = tracking.published()
    requests = []
    if Kind.OPEN in kinds:
        requests.append(("GET", f"/o/{path}", b"", {}))
    if Kind.CLICK in kinds:
        requests.append(("GET", f"/c/{path}", b"", {}))
    if Kind.UNSUBSCRIBE in kinds:
        requests.append(("GET", f"/u/{path}", b"", {}))
        requests.append(("POST", f"/u/{path}", b"List-Unsubscribe=One-Click", ONE_CLICK))
    for (method, target, _, _), (status, headers, body) in zip(
        requests, client.exchange(requests), strict=True
    ):
        if target.startswith("/o/"):
            assert (status, body) == (200, PIXEL)
        else:
            # 405: the token made the path a different route (e.g. it contained a slash).
            assert status in (404, 405), (method, target, status)
            assert "location" not in headers
    assert tracking.published() == before


@fuzz(2000)
@given(st.text(max_size=200))
def test_random_text(tracking, client, text):
    assert_rejected(tracking, client, text)


@fuzz(4000)
@given(
    kind=st.sampled_from(list(VALID)),
    position=st.integers(min_value=0),
    replacement=st.characters(codec="ascii"),
)
def test_one_character_changed(tracking, client, kind, position, replacement):
    token = VALID[kind]
    position %= len(token)
    altered = token[:position] + replacement + token[position + 1 :]
    if altered != token:
        assert_rejected(tracking, client, altered, kinds=(kind,))


@fuzz(1500)
@given(
    kind=st.sampled_from(list(VALID)),
    cut=st.integers(min_value=1, max_value=400),
    from_start=st.booleans(),
)
def test_truncated(tracking, client, kind, cut, from_start):
    token = VALID[kind]
    truncated = token[cut:] if from_start else token[: max(0, len(token) - cut)]
    assert_rejected(tracking, client, truncated, kinds=(kind,))


@fuzz(1500)
@given(st.binary(min_size=90, max_size=300))
def test_well_formed_but_unsigned(tracking, client, raw):
    assert_rejected(tracking, client, base64.urlsafe_b64encode(raw).rstrip(b"=").decode())


@fuzz(1000)
@given(
    secret=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and ":" not in s),
    kind=st.sampled_from(list(VALID)),
    issued_at=st.integers(0, 2**32 - 1),
)
def test_signed_with_another_key(tracking, client, secret, kind, issued_at):
    other = TokenCodec({1: secret.encode()})  # an attacker's key: any strength
    if other.sign(Claims(kind, 0, *ids())) == TOKENS.sign(Claims(kind, 0, *ids())):
        return
    url = "https://evil.example/" if kind is Kind.CLICK else None
    assert_rejected(tracking, client, other.sign(Claims(kind, issued_at, *ids(), url=url)), (kind,))


@pytest.mark.parametrize("kind", list(VALID))
def test_valid_token_of_one_kind_is_refused_by_the_other_endpoints(tracking, client, kind):
    assert_rejected(tracking, client, VALID[kind], kinds=tuple(k for k in VALID if k is not kind))


def test_control_a_valid_token_is_counted(tracking, client):
    # Without this, a broken counter would make every property above pass vacuously.
    before = tracking.published()
    [(status, _, body)] = client.exchange([("GET", f"/o/{VALID[Kind.OPEN]}", b"", {})])
    assert (status, body, tracking.published()) == (200, PIXEL, before + 1)
