"""Tenant settings, users, API keys and registered senders: plain async handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from composer import domain_handlers, rules
from composer.domain import RegisteredSender, Tenant, User
from composer.ports import Store, Tx
from composer.sending_domains import mail_domain
from mailkit.keys import KeyVault
from servicekit.auth import Principal, Role, new_key
from servicekit.errors import Conflict, FieldError, Forbidden, Invalid, NotFound

RoleName = Literal["member", "manager", "admin"]


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenantInput(_Input):
    company_name: str = Field(description="Company name for the legal footer.")
    postal_address: str = Field(description="Postal address for the legal footer.")
    contact: str = Field(default="", description="Contact (phone or address) for the footer.")
    time_zone: str = Field(default="Asia/Tokyo", description="IANA time zone of the tenant.")


class UserInput(_Input):
    name: str = Field(description="Display name; used as the From name when the user sends.")
    email: str = Field(description="Address; used as From when the user sends.")
    signature: str = Field(default="", description="Signature text for {{ sender_signature }}.")
    role: RoleName = Field(default="member")


class SenderInput(_Input):
    name: str = Field(description="Display name, e.g. Support.")
    email: str = Field(description="Address, e.g. support@example.com.")


@dataclass(frozen=True)
class IssuedKey:
    """An API key as shown once, at creation; only its hash is stored."""

    key_id: str
    api_key: str
    user_id: UUID


# ---------------------------------------------------------------- tenant


def tenant_errors(t: TenantInput) -> list[FieldError]:
    errors = [
        FieldError(n, "is required")
        for n in ("company_name", "postal_address")
        if not getattr(t, n).strip()
    ]
    for name in ("company_name", "postal_address", "contact"):
        if len(getattr(t, name)) > 1000:
            errors.append(FieldError(name, "must be at most 1000 characters"))
    return errors + rules.time_zone("time_zone", t.time_zone)


async def bootstrap(
    tenant_input: TenantInput, admin: UserInput, *, store: Store, vault: KeyVault
) -> tuple[Tenant, User, IssuedKey]:
    """A new tenant with its first admin and that admin's key (operator command). The
    admin's mail domain becomes the tenant's first sending domain, pending until verified."""
    errors = tenant_errors(tenant_input) + user_errors(admin)
    if errors:
        raise Invalid(errors)
    tenant = Tenant(id=uuid4(), **tenant_input.model_dump())
    user = User(uuid4(), tenant.id, admin.name, admin.email, admin.signature, Role.ADMIN)
    first_domain = domain_handlers.new_domain(
        tenant.id, mail_domain(admin.email), vault, datetime.now(UTC)
    )
    async with store.transaction() as tx:
        await tx.insert_tenant(tenant)
        await tx.save_user(user)
        await tx.save_sending_domain(first_domain)
        key = await _issue(tx, user)
    return tenant, user, key


async def get_tenant(*, actor: Principal, store: Store) -> Tenant:
    async with store.transaction() as tx:
        tenant = await tx.tenant(actor.tenant_id)
    if tenant is None:
        raise NotFound("tenant")
    return tenant


async def update_tenant(changes: Mapping[str, object], *, actor: Principal, store: Store) -> Tenant:
    _require(actor, Role.ADMIN, "changing the account information")
    async with store.transaction() as tx:
        tenant = await tx.tenant(actor.tenant_id, lock=True)
        if tenant is None:
            raise NotFound("tenant")
        current = {k: v for k, v in vars(tenant).items() if k != "id"}
        merged = TenantInput.model_validate(current | dict(changes))
        errors = tenant_errors(merged)
        if errors:
            raise Invalid(errors)
        tenant = replace(tenant, **merged.model_dump())
        await tx.update_tenant(tenant)
    return tenant


# ---------------------------------------------------------------- users and keys


def user_errors(u: UserInput) -> list[FieldError]:
    errors = rules.header_text("name", u.name, limit=rules.MAX_DISPLAY_NAME_CHARS)
    if not u.name.strip():
        errors.append(FieldError("name", "is required"))
    if len(u.signature) > rules.MAX_SIGNATURE_CHARS:
        errors.append(
            FieldError("signature", f"must be at most {rules.MAX_SIGNATURE_CHARS} characters")
        )
    return errors + rules.email_address("email", u.email)


async def create_user(
    user_input: UserInput, *, actor: Principal, store: Store
) -> tuple[User, IssuedKey]:
    _require(actor, Role.ADMIN, "creating users")
    errors = user_errors(user_input)
    if errors:
        raise Invalid(errors)
    user = User(
        uuid4(),
        actor.tenant_id,
        user_input.name,
        user_input.email,
        user_input.signature,
        Role.parse(user_input.role),
    )
    async with store.transaction() as tx:
        await _on_tenant_domain(tx, actor.tenant_id, user.email)
        if await tx.user_by_email(actor.tenant_id, user.email) is not None:
            raise Conflict("a user with this email already exists in the tenant")
        await tx.save_user(user)
        key = await _issue(tx, user)
    return user, key


async def list_users(*, actor: Principal, store: Store) -> list[User]:
    return await store.users(actor.tenant_id)


async def get_user(user_id: UUID, *, actor: Principal, store: Store) -> User:
    async with store.transaction() as tx:
        return await _user(tx, actor, user_id)


async def update_user(
    user_id: UUID, changes: Mapping[str, object], *, actor: Principal, store: Store
) -> User:
    """Users edit their own name and signature; admins edit anyone, including roles."""
    if user_id != actor.user_id or "role" in changes:
        _require(actor, Role.ADMIN, "changing another user or a role")
    async with store.transaction() as tx:
        await tx.tenant(actor.tenant_id, lock=True)
        if "role" in changes:
            # The role the key had when the request arrived may have been taken away by a
            # change that committed while this one waited for the lock.
            me = await tx.user(actor.tenant_id, actor.user_id)
            if me is None or me.role is not Role.ADMIN:
                raise Forbidden("role", "only an admin may change a role")
        user = await _user(tx, actor, user_id)
        current = {
            "name": user.name,
            "email": user.email,
            "signature": user.signature,
            "role": str(user.role),
        }
        merged = UserInput.model_validate(current | dict(changes))
        errors = user_errors(merged)
        if errors:
            raise Invalid(errors)
        if merged.email.lower() != user.email.lower():
            await _on_tenant_domain(tx, actor.tenant_id, merged.email)
        other = await tx.user_by_email(actor.tenant_id, merged.email)
        if other is not None and other.id != user.id:
            raise Conflict("a user with this email already exists in the tenant")
        if user.role is Role.ADMIN and merged.role != "admin":
            await _keep_an_admin(tx, user)
        user = replace(
            user,
            name=merged.name,
            email=merged.email,
            signature=merged.signature,
            role=Role.parse(merged.role),
        )
        await tx.save_user(user)
    return user


async def _keep_an_admin(tx: Tx, leaving: User) -> None:
    """A tenant without an admin could never create users or change its settings again."""
    directory = await tx.directory(leaving.tenant_id)
    users = directory.users if directory else []
    if not any(u.role is Role.ADMIN and u.id != leaving.id for u in users):
        raise Conflict("the tenant's last admin cannot be demoted")


async def issue_key(user_id: UUID, *, actor: Principal, store: Store) -> IssuedKey:
    if user_id != actor.user_id:
        _require(actor, Role.ADMIN, "issuing keys for another user")
    async with store.transaction() as tx:
        return await _issue(tx, await _user(tx, actor, user_id))


async def revoke_key(key_id: str, *, actor: Principal, store: Store) -> None:
    async with store.transaction() as tx:
        owner = await tx.revoke_key(actor.tenant_id, key_id)
        if owner is None:
            raise NotFound("key")
        if owner != actor.user_id:
            _require(actor, Role.ADMIN, "revoking another user's key")


async def _on_tenant_domain(tx: Tx, tenant_id: UUID, email: str) -> None:
    """Staff and registered senders send as themselves: their addresses must be on a domain
    the tenant registered (SPEC §9.1), or every campaign from them would be refused."""
    registered = sorted(d.domain for d in await tx.sending_domains(tenant_id))
    if mail_domain(email) not in registered:
        raise Invalid(
            [
                FieldError(
                    "email",
                    f"must be on a sending domain of the tenant: register "
                    f"{mail_domain(email)} first (POST /v1/sending-domains)",
                    allowed=registered,
                )
            ]
        )


async def _issue(tx: Tx, user: User) -> IssuedKey:
    key = new_key()
    await tx.insert_key(key.key_id, key.secret_hash, user.tenant_id, user.id)
    return IssuedKey(key.key_id, key.plaintext, user.id)


async def _user(tx: Tx, actor: Principal, user_id: UUID) -> User:
    user = await tx.user(actor.tenant_id, user_id)
    if user is None:
        raise NotFound("user")
    return user


# ---------------------------------------------------------------- registered senders


def sender_input_errors(s: SenderInput) -> list[FieldError]:
    errors = rules.header_text("name", s.name, limit=rules.MAX_DISPLAY_NAME_CHARS)
    if not s.name.strip():
        errors.append(FieldError("name", "is required"))
    return errors + rules.email_address("email", s.email)


async def create_sender(
    sender_input: SenderInput, *, actor: Principal, store: Store
) -> RegisteredSender:
    _require(actor, Role.ADMIN, "registering senders")
    errors = sender_input_errors(sender_input)
    if errors:
        raise Invalid(errors)
    sender = RegisteredSender(
        uuid4(), actor.tenant_id, sender_input.name, sender_input.email, actor.user_id
    )
    async with store.transaction() as tx:
        await _on_tenant_domain(tx, actor.tenant_id, sender.email)
        await tx.insert_sender(sender)
    return sender


async def list_senders(*, actor: Principal, store: Store) -> list[RegisteredSender]:
    return await store.senders(actor.tenant_id)


async def get_sender(sender_id: UUID, *, actor: Principal, store: Store) -> RegisteredSender:
    async with store.transaction() as tx:
        sender = await tx.sender(actor.tenant_id, sender_id)
    if sender is None:
        raise NotFound("registered sender")
    return sender


async def delete_sender(sender_id: UUID, *, actor: Principal, store: Store) -> None:
    """Campaigns already released keep their snapshot; a scheduled one that names this
    sender returns to drafts at its time, with the reason."""
    await get_sender(sender_id, actor=actor, store=store)
    _require(actor, Role.ADMIN, "removing registered senders")
    async with store.transaction() as tx:
        await tx.delete_sender(actor.tenant_id, sender_id)


def _require(actor: Principal, role: Role, what: str) -> None:
    if not actor.at_least(role):
        raise Forbidden(None, f"{what} needs role {role} or above")
