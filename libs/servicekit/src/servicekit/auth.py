"""API keys and the principal behind a request, shared by every service with an HTTP API.

A key looks like `bm_<key id>_<secret>`. The composer stores the SHA-256 of the secret
(keys are 256-bit random, so a slow hash adds nothing) and answers introspection; other
services verify through it with a short cache. The tenant always comes from the key.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Protocol
from uuid import UUID

import httpx
from fastapi import Depends, HTTPException, Request

from servicekit.peers import peer_client

KEY_PREFIX = "bm"


class Role(IntEnum):
    MEMBER = 1
    MANAGER = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        return cls[name.upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: UUID
    user_id: UUID
    role: Role

    def at_least(self, role: Role) -> bool:
        return self.role >= role


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret_hash: str
    plaintext: str


def new_key() -> NewKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, hash_secret(secret), f"{KEY_PREFIX}_{key_id}_{secret}")


def split_key(api_key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    prefix, _, rest = api_key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret or len(api_key) > 200:
        return None
    return key_id, secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyVerifier(Protocol):
    async def verify(self, api_key: str) -> Principal | None: ...


class RemoteKeyVerifier:
    """Asks the composer who a key belongs to; remembers answers for `ttl` seconds.

    `base_url` may list several composer instances, comma-separated (`servicekit.peers`):
    one that refuses the connection is passed over for the next."""

    def __init__(
        self, base_url: str, *, ttl: float = 30.0, client: httpx.AsyncClient | None = None
    ):
        self._client = client or peer_client(base_url, timeout=5.0)
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def verify(self, api_key: str) -> Principal | None:
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        hit = self._cache.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        response = await self._introspect(api_key)
        if response.status_code == 200:
            body = response.json()
            principal: Principal | None = Principal(
                UUID(body["tenant_id"]), UUID(body["user_id"]), Role.parse(body["role"])
            )
        elif response.status_code == 401:
            principal = None
        else:
            raise HTTPException(503, detail="authentication service unavailable")
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + self._ttl, principal)
        return principal

    async def _introspect(self, api_key: str) -> httpx.Response:
        try:
            return await self._client.post(
                "/v1/auth/introspect", headers={"Authorization": f"Bearer {api_key}"}
            )
        except httpx.ConnectError:  # no composer instance takes connections
            raise HTTPException(503, detail="authentication service unavailable") from None

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> RemoteKeyVerifier:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def bearer_token(header: str) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, None without one."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer(request: Request) -> str:
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise HTTPException(
            401, detail="missing bearer API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return token


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency; the service's ports carry its `KeyVerifier` as `keys`."""
    verifier: KeyVerifier = request.state.ports.keys
    principal = await verifier.verify(bearer(request))
    if principal is None:
        raise HTTPException(
            401, detail="unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, role: Role, what: str) -> None:
    if not principal.at_least(role):
        raise HTTPException(403, detail=f"{what} needs role {role} or above")
