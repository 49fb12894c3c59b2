"""Signed tokens: round trips, and nothing forged, truncated or altered gets through."""

import base64
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicekit.tokens import Claims, InvalidToken, Kind, TokenCodec, parse_keys

FIRST, OLDER = "1:" + "3f9a1c7e5b2d4680" * 4, "2:" + "a7c31e9b5f0d2468" * 4
CODEC = TokenCodec.from_secret(f"{FIRST},{OLDER}")
IDS = [uuid.UUID(int=i * 7919) for i in range(1, 6)]


def claims(kind=Kind.OPEN, url=None):
    return Claims(kind, 1_700_000_000, *IDS, url=url)


@pytest.mark.parametrize("kind", [Kind.OPEN, Kind.UNSUBSCRIBE])
def test_round_trip(kind):
    assert CODEC.verify(CODEC.sign(claims(kind)), kind) == claims(kind)


def test_click_round_trip_keeps_the_url():
    c = claims(Kind.CLICK, "https://example.com/ページ?a=1&b=2#frag")
    assert CODEC.verify(CODEC.sign(c), Kind.CLICK).url == c.url


def test_open_token_is_compact():
    assert len(CODEC.sign(claims())) <= 140


def test_token_of_one_kind_is_refused_as_another():
    with pytest.raises(InvalidToken):
        CODEC.verify(CODEC.sign(claims(Kind.OPEN)), Kind.UNSUBSCRIBE)


def test_older_key_still_verifies_but_never_signs():
    old = TokenCodec.from_secret(OLDER)
    token = old.sign(claims())
    assert CODEC.verify(token, Kind.OPEN) == claims()
    assert CODEC.sign(claims()) != token


def test_unknown_key_is_refused():
    other = TokenCodec.from_secret("1:" + "5e0c2a8f6b4d1937" * 4)
    with pytest.raises(InvalidToken):
        CODEC.verify(other.sign(claims()), Kind.OPEN)


@pytest.mark.parametrize("secret", ["", "0:x", "300:x", "a:b", "1:"])
def test_bad_secrets_are_refused(secret):
    with pytest.raises(ValueError):
        parse_keys(secret)


@settings(max_examples=4000, deadline=None)
@given(st.text(max_size=300))
def test_random_text_is_refused(text):
    with pytest.raises(InvalidToken):
        CODEC.verify(text, Kind.OPEN)


@settings(max_examples=4000, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_single_character_change_is_refused(position, replacement):
    token = CODEC.sign(claims(Kind.CLICK, "https://example.com/a"))
    position %= len(token)
    altered = token[:position] + replacement + token[position + 1 :]
    if altered == token:
        return
    with pytest.raises(InvalidToken):
        CODEC.verify(altered, Kind.CLICK)


@settings(max_examples=2000, deadline=None)
@given(cut=st.integers(min_value=1, max_value=200))
def test_truncated_tokens_are_refused(cut):
    token = CODEC.sign(claims(Kind.CLICK, "https://example.com/a"))
    with pytest.raises(InvalidToken):
        CODEC.verify(token[: max(0, len(token) - cut)], Kind.CLICK)


@settings(max_examples=2000, deadline=None)
@given(st.binary(min_size=80, max_size=200))
def test_well_formed_but_unsigned_bytes_are_refused(raw):
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        CODEC.verify(token, Kind.OPEN)


def test_bounce_token_fits_a_local_part_and_round_trips():
    token = CODEC.sign_bounce(IDS[0], IDS[2])
    assert len(token) <= 64 and token == token.lower()
    assert CODEC.verify_bounce(token).message_id == IDS[2]
    assert CODEC.verify_bounce(token.upper()).tenant_id == IDS[0]


@settings(max_examples=2000, deadline=None)
@given(
    position=st.integers(min_value=0),
    replacement=st.sampled_from("abcdefghijklmnopqrstuvwxyz234567"),
)
def test_altered_bounce_token_is_refused(position, replacement):
    token = CODEC.sign_bounce(IDS[0], IDS[2])
    position %= len(token)
    altered = token[:position] + replacement + token[position + 1 :]
    if altered == token:
        return
    with pytest.raises(InvalidToken):
        CODEC.verify_bounce(altered)


@pytest.mark.parametrize(
    "weak",
    [
        "short",
        "1:" + "a" * 200,  # long, but one character
        "0123456789abcdef" * 3,  # 48 hex characters: 192 bits
        "1:" + "x" * 10 + ",2:" + "3f9a1c7e5b2d4680" * 4,  # the weak one of two keys
        "password1234567890password1234567890",
    ],
)
def test_weak_token_secrets_are_refused(weak: str) -> None:
    with pytest.raises(ValueError, match="32 bytes of entropy"):
        TokenCodec.from_secret(weak)


@pytest.mark.parametrize(
    "strong",
    [
        "3f9a1c7e5b2d4680" * 4,  # `openssl rand -hex 32`
        "q8Zc1vT3mN5xB7kW9pL2sD4fG6hJ0aRtYuIoPeQwErZ",  # 43 characters of base64
        "1:" + "3f9a1c7e5b2d4680" * 4 + ",2:" + "a7c31e9b5f0d2468" * 4,
    ],
)
def test_strong_token_secrets_are_taken(strong: str) -> None:
    assert TokenCodec.from_secret(strong)
