"""Signing in with a password, and changing passwords: plain async handlers.

A sign-in issues a session key: an API key of kind `session` that expires after the
policy's lifetime and is revoked at sign-out. Every service verifies it as it verifies any
key, so the console calls composer and recipients with the signed-in user's own rights.

An address is unique per tenant only. Sign-in tries the password against every account of
the address; the tenants are named to the caller only when the password opened more than
one of them, so nobody learns where an address has accounts without its password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from composer.domain import User
from servicekit.auth import Principal, Role, new_key
from servicekit.errors import DomainError, FieldError, Forbidden, Invalid, NotFound

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256


@dataclass(frozen=True)
class Account:
    """One user an address names, with what sign-in needs to know."""

    user: User
    company_name: str
    password_hash: str | None


@dataclass(frozen=True)
class LoginPolicy:
    session_ttl: timedelta = timedelta(hours=12)
    failure_limit: int = 5
    failure_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Session:
    key_id: str
    api_key: str
    expires_at: datetime
    user: User
    company_name: str


class Logins(Protocol):
    async def accounts(self, email: str) -> list[Account]:
        """Every user with this address, in any tenant (any case)."""
        ...

    async def account(self, tenant_id: UUID, user_id: UUID) -> Account | None: ...

    async def set_password(self, tenant_id: UUID, user_id: UUID, password_hash: str) -> None: ...

    async def failures(self, address: str, since: datetime) -> int:
        """Failed sign-ins of the address counted in a window that started after `since`."""
        ...

    async def record_failure(self, address: str, now: datetime, window: timedelta) -> None: ...

    async def clear_failures(self, address: str) -> None: ...

    async def insert_session(
        self, key_id: str, secret_hash: str, user: User, expires_at: datetime
    ) -> None: ...

    async def revoke_session(self, key_id: str) -> None: ...

    async def revoke_sessions(self, tenant_id: UUID, user_id: UUID) -> None: ...

    async def prune_failures(self, before: datetime) -> None: ...


class Hasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Unauthenticated(DomainError):
    """Wrong address or password (401); which one is not said."""

    status = 401

    def __init__(self) -> None:
        super().__init__([FieldError("password", "email address or password is incorrect")])


class TooManyAttempts(DomainError):
    """Too many failed sign-ins for the address (429); retry after `retry_after` seconds."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            [FieldError("email", "too many failed sign-ins for this address: try again later")]
        )
        self.retry_after = retry_after


class TenantRequired(Invalid):
    """The password opens accounts in several tenants: the caller must name one (422)."""

    def __init__(self, accounts: list[Account]) -> None:
        super().__init__(
            [
                FieldError(
                    "tenant_id",
                    "this address has an account in several companies: choose one",
                    allowed=[str(a.user.tenant_id) for a in accounts],
                )
            ]
        )
        self.tenants = [(a.user.tenant_id, a.company_name) for a in accounts]


class LoginInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str = Field(max_length=320, description="The user's address (any case).")
    password: str = Field(max_length=MAX_PASSWORD_CHARS)
    tenant_id: UUID | None = Field(
        default=None,
        description="Needed only when the address has accounts in several tenants; the "
        "answer then lists them (422, field tenant_id).",
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    new_password: str = Field(max_length=MAX_PASSWORD_CHARS + 1)
    current_password: str | None = Field(
        default=None, max_length=MAX_PASSWORD_CHARS, description="Required for one's own."
    )


async def login(
    request: LoginInput, *, logins: Logins, hasher: Hasher, clock: Clock, policy: LoginPolicy
) -> Session:
    address = request.email.strip().lower()
    now = clock.now()
    if await logins.failures(address, now - policy.failure_window) >= policy.failure_limit:
        raise TooManyAttempts(int(policy.failure_window.total_seconds()))
    opened = [
        a
        for a in await _with_password(await logins.accounts(address), hasher, request.password)
        if request.tenant_id in (None, a.user.tenant_id)
    ]
    if not opened:
        await logins.record_failure(address, now, policy.failure_window)
        raise Unauthenticated()
    if len(opened) > 1:
        raise TenantRequired(opened)
    await logins.clear_failures(address)
    [account] = opened
    key = new_key()
    expires_at = now + policy.session_ttl
    await logins.insert_session(key.key_id, key.secret_hash, account.user, expires_at)
    return Session(key.key_id, key.plaintext, expires_at, account.user, account.company_name)


async def _with_password(accounts: list[Account], hasher: Hasher, password: str) -> list[Account]:
    if not any(a.password_hash for a in accounts):
        # As long as a real check takes: the timing does not tell which addresses exist.
        await hasher.hash(password)
        return []
    return [
        a for a in accounts if a.password_hash and await hasher.verify(a.password_hash, password)
    ]


async def logout(key_id: str, *, logins: Logins) -> None:
    """Revokes the session key the request came with (an ordinary API key stays)."""
    await logins.revoke_session(key_id)


def password_errors(password: str, field: str = "new_password") -> list[FieldError]:
    if len(password) < MIN_PASSWORD_CHARS:
        return [FieldError(field, f"must be at least {MIN_PASSWORD_CHARS} characters")]
    if len(password) > MAX_PASSWORD_CHARS:
        return [FieldError(field, f"must be at most {MAX_PASSWORD_CHARS} characters")]
    if not password.strip():
        return [FieldError(field, "must not be only spaces")]
    return []


async def change_password(
    user_id: UUID, change: PasswordChange, *, actor: Principal, logins: Logins, hasher: Hasher
) -> None:
    """One's own password, with the current one; an admin resets another user's without
    it. A reset signs the user out everywhere (their session keys are revoked)."""
    own = user_id == actor.user_id
    if not own and not actor.at_least(Role.ADMIN):
        raise Forbidden(None, "resetting another user's password needs role admin")
    account = await logins.account(actor.tenant_id, user_id)
    if account is None:
        raise NotFound("user")
    errors = password_errors(change.new_password)
    if own and account.password_hash:
        current = change.current_password or ""
        if not await hasher.verify(account.password_hash, current):
            errors.insert(0, FieldError("current_password", "is incorrect"))
    if errors:
        raise Invalid(errors)
    await logins.set_password(actor.tenant_id, user_id, await hasher.hash(change.new_password))
    if not own:
        await logins.revoke_sessions(actor.tenant_id, user_id)


async def set_password(
    email: str, password: str, tenant_id: UUID | None, *, logins: Logins, hasher: Hasher
) -> User:
    """The operator's command: sets a password (e.g. the first admin's) without an actor."""
    errors = password_errors(password, "password")
    if errors:
        raise Invalid(errors)
    accounts = [
        a
        for a in await logins.accounts(email.strip().lower())
        if tenant_id in (None, a.user.tenant_id)
    ]
    if not accounts:
        raise NotFound("user")
    if len(accounts) > 1:
        raise TenantRequired(accounts)
    user = accounts[0].user
    await logins.set_password(user.tenant_id, user.id, await hasher.hash(password))
    return user
