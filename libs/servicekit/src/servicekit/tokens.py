"""Signed tokens for tracking, unsubscribe and bounce (VERP) addresses.

Delivery signs, tracking verifies; both use this module and nothing else.

URL token (open, click, unsubscribe), base64url without padding:

    kid u8 | kind u8 | issued_at u32 | tenant | campaign | message | customer | notify_user
    | url (click only, UTF-8) | HMAC-SHA256(key[kid], everything before)[:16]

Bounce token, for the local part of the return path. Local parts are case-insensitive in
practice and limited to 64 octets, so it is base32 (lowercase, no padding) and short:

    kid u8 | tenant | message | HMAC-SHA256(key[kid], b"bounce" | everything before)[:6]

Key rotation: TOKEN_SECRET is either one secret (key id 1) or `kid:secret,kid:secret,...`;
the first key signs, every listed key verifies, so an old key can be kept until the mails
signed with it have aged out.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import struct
from dataclasses import dataclass
from enum import IntEnum
from hashlib import sha256
from uuid import UUID

_MAC = 16
_BOUNCE_MAC = 6
_HEAD = struct.Struct(">BBI")
_IDS = 5 * 16
_MAX_URL = 4096


class InvalidToken(ValueError):
    """Forged, truncated, altered, or signed with an unknown key."""


class Kind(IntEnum):
    OPEN = 1
    CLICK = 2
    UNSUBSCRIBE = 3


@dataclass(frozen=True, slots=True)
class Claims:
    kind: Kind
    issued_at: int
    tenant_id: UUID
    campaign_id: UUID
    message_id: UUID
    customer_id: UUID
    notify_user_id: UUID
    url: str | None = None


@dataclass(frozen=True, slots=True)
class BounceClaims:
    tenant_id: UUID
    message_id: UUID


def parse_keys(secret: str) -> dict[int, bytes]:
    """Keys by id, in the order given (the first one signs); each must be strong."""
    secret = secret.strip()
    if not secret:
        raise ValueError("TOKEN_SECRET is empty")
    if ":" not in secret:
        return {1: _strong(secret)}
    keys: dict[int, bytes] = {}
    for part in secret.split(","):
        kid, _, value = part.strip().partition(":")
        if not kid.isdigit() or not 0 < int(kid) < 256 or not value:
            raise ValueError("TOKEN_SECRET entries must look like '<1-255>:<secret>'")
        keys[int(kid)] = _strong(value)
    return keys


#: Bits a character of a secret can carry, by the alphabet the secret is written in.
_ALPHABETS = (
    (frozenset("0123456789abcdefABCDEF"), 4.0),
    (frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="), 6.0),
)
MIN_SECRET_BITS = 256


def secret_bits(value: str) -> float:
    """What a secret can hold at most, judged by its alphabet: hex 4 bits a character,
    base64 6, anything else 6.5; a secret of a handful of distinct characters holds little
    whatever its length."""
    if len(set(value)) < 10:
        return 0.0
    per_char = next((bits for alphabet, bits in _ALPHABETS if set(value) <= alphabet), 6.5)
    return per_char * len(value)


def _strong(value: str) -> bytes:
    """Token keys need at least 32 bytes of entropy (SPEC §11): 64 hex characters (what
    `openssl rand -hex 32` prints), 43 of base64, or 40 of other text."""
    if secret_bits(value) < MIN_SECRET_BITS:
        raise ValueError(
            "TOKEN_SECRET keys need at least 32 bytes of entropy, e.g. `openssl rand -hex 32`"
        )
    return value.encode()


class TokenCodec:
    def __init__(self, keys: dict[int, bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._keys = dict(keys)
        self._kid = next(iter(keys))
        self._key = keys[self._kid]

    @classmethod
    def from_secret(cls, secret: str) -> TokenCodec:
        return cls(parse_keys(secret))

    # ------------------------------------------------------------------ URL tokens

    def sign(self, claims: Claims) -> str:
        return self.sign_parts(
            claims.kind,
            claims.issued_at,
            claims.tenant_id.bytes
            + claims.campaign_id.bytes
            + claims.message_id.bytes
            + claims.customer_id.bytes
            + claims.notify_user_id.bytes,
            claims.url,
        )

    def sign_parts(self, kind: Kind, issued_at: int, ids: bytes, url: str | None = None) -> str:
        """Hot path for delivery: `ids` is the five UUIDs' bytes, concatenated once per mail."""
        body = _HEAD.pack(self._kid, kind, issued_at) + ids
        if url is not None:
            body += url.encode()
        mac = hmac.digest(self._key, body, sha256)[:_MAC]
        return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode("ascii")

    def verify(self, token: str, kind: Kind) -> Claims:
        raw = _b64decode(token)
        if len(raw) < _HEAD.size + _IDS + _MAC or len(raw) > _HEAD.size + _IDS + _MAC + _MAX_URL:
            raise InvalidToken("bad length")
        body, mac = raw[:-_MAC], raw[-_MAC:]
        kid, got_kind, issued_at = _HEAD.unpack_from(body)
        key = self._keys.get(kid)
        if key is None or not hmac.compare_digest(hmac.digest(key, body, sha256)[:_MAC], mac):
            raise InvalidToken("bad signature")
        if got_kind != kind:
            raise InvalidToken("wrong kind")
        ids = body[_HEAD.size : _HEAD.size + _IDS]
        rest = body[_HEAD.size + _IDS :]
        if kind is Kind.CLICK:
            if not rest:
                raise InvalidToken("click without url")
            url: str | None = rest.decode()
        elif rest:
            raise InvalidToken("trailing bytes")
        else:
            url = None
        tenant, campaign, message, customer, notify = (
            UUID(bytes=ids[i : i + 16]) for i in range(0, _IDS, 16)
        )
        return Claims(Kind(kind), issued_at, tenant, campaign, message, customer, notify, url)

    # ------------------------------------------------------------------ bounce tokens

    def sign_bounce(self, tenant_id: UUID, message_id: UUID) -> str:
        body = bytes([self._kid]) + tenant_id.bytes + message_id.bytes
        mac = hmac.digest(self._key, b"bounce" + body, sha256)[:_BOUNCE_MAC]
        return base64.b32encode(body + mac).rstrip(b"=").decode("ascii").lower()

    def verify_bounce(self, token: str) -> BounceClaims:
        text = token.upper()
        if not text.isascii():
            raise InvalidToken("not base32")
        try:
            raw = base64.b32decode(text + "=" * (-len(text) % 8))
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken("not base32") from exc
        if len(raw) != 1 + 32 + _BOUNCE_MAC or base64.b32encode(raw).rstrip(b"=") != text.encode():
            raise InvalidToken("bad length")
        body, mac = raw[:-_BOUNCE_MAC], raw[-_BOUNCE_MAC:]
        key = self._keys.get(body[0])
        expected = key and hmac.digest(key, b"bounce" + body, sha256)[:_BOUNCE_MAC]
        if not expected or not hmac.compare_digest(expected, mac):
            raise InvalidToken("bad signature")
        return BounceClaims(UUID(bytes=body[1:17]), UUID(bytes=body[17:33]))


def _b64decode(token: str) -> bytes:
    if not token or len(token) > 8192 or not token.isascii():
        raise InvalidToken("not a token")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("not base64url") from exc
    # Unused low bits of the last character would let two spellings share one token.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise InvalidToken("not canonical")
    return raw
