"""Sending-domain commands (admin only, SPEC §11): register, check through DNS, rotate the
DKIM keys, remove a retired key, remove the domain. Plain async functions over the ports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid4

from composer.ports import Clock, Store, Tx
from composer.sending_domains import (
    Algorithm,
    DkimKey,
    DnsPolicy,
    Finding,
    KeyState,
    SendingDomain,
    apply_check,
    judge,
    new_selectors,
    normalise,
    records,
)
from mailkit.keys import KeyVault
from mailkit.signing import (
    Ed25519SigningKey,
    RsaSigningKey,
    generate_ed25519_key,
    generate_rsa_key,
)
from servicekit.auth import Principal, Role
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound


class Dns(Protocol):
    """Lookups through the configured resolver; both raise DnsUnavailable when it does not
    answer, and return [] when the name or the type is not there."""

    async def txt(self, name: str) -> list[str]:
        """Each TXT record's character-strings joined, as DKIM, SPF and DMARC read them."""
        ...

    async def mx(self, name: str) -> list[str]:
        """Exchange host names, lower case, without the final dot."""
        ...


@dataclass(frozen=True)
class SendingTools:
    dns: Dns
    vault: KeyVault
    policy: DnsPolicy


# ---------------------------------------------------------------- keys and registration


def new_keys(
    domain: str,
    vault: KeyVault,
    now: datetime,
    *,
    ed25519: bool,
    taken: set[str],
    state: KeyState,
) -> tuple[DkimKey, ...]:
    """One generation of keys: RSA-2048, and Ed25519 as a second signature when asked."""
    keys = []
    for algorithm, selector in new_selectors(taken, now, ed25519).items():
        keys.append(_key(domain, selector, algorithm, vault, now, state))
    return tuple(keys)


def _key(
    domain: str,
    selector: str,
    algorithm: Algorithm,
    vault: KeyVault,
    now: datetime,
    state: KeyState,
) -> DkimKey:
    if algorithm == "rsa-sha256":
        pem = generate_rsa_key()
        public = "".join(RsaSigningKey(domain, selector, pem).txt_record())
    else:
        pem = generate_ed25519_key()
        public = "".join(Ed25519SigningKey(domain, selector, pem).txt_record())
    return DkimKey(selector, algorithm, state, public, vault.encrypt(pem), now)


def new_domain(
    tenant_id: UUID, name: str, vault: KeyVault, now: datetime, *, ed25519: bool = False
) -> SendingDomain:
    """A pending domain with its first signing keys; Invalid when `name` is no domain."""
    try:
        domain = normalise(name)
    except ValueError as exc:
        raise Invalid.one("domain", str(exc)) from None
    keys = new_keys(domain, vault, now, ed25519=ed25519, taken=set(), state="active")
    return SendingDomain(uuid4(), tenant_id, domain, "pending", ed25519, now, keys)


async def add_domain(tx: Tx, domain: SendingDomain) -> None:
    existing = await tx.sending_domains(domain.tenant_id)
    if any(d.domain == domain.domain for d in existing):
        raise Conflict(f"{domain.domain} is already a sending domain of the tenant", field="domain")
    await tx.save_sending_domain(domain)


async def register(
    name: str, *, ed25519: bool, actor: Principal, store: Store, tools: SendingTools, clock: Clock
) -> SendingDomain:
    _require_admin(actor)
    domain = new_domain(actor.tenant_id, name, tools.vault, clock.now(), ed25519=ed25519)
    async with store.transaction() as tx:
        await add_domain(tx, domain)
    return domain


# ---------------------------------------------------------------- reading


async def list_domains(*, actor: Principal, store: Store) -> list[SendingDomain]:
    _require_admin(actor)
    async with store.transaction() as tx:
        return await tx.sending_domains(actor.tenant_id)


async def get_domain(domain_id: UUID, *, actor: Principal, store: Store) -> SendingDomain:
    _require_admin(actor)
    async with store.transaction() as tx:
        return await _domain(tx, actor, domain_id)


# ---------------------------------------------------------------- checking, rotating, removing


async def verify(
    domain_id: UUID, *, actor: Principal, store: Store, tools: SendingTools, clock: Clock
) -> SendingDomain:
    """Looks every record up, then stores what was found. The lookups run outside the
    transaction: a slow resolver must not hold the domain's row lock."""
    domain = await get_domain(domain_id, actor=actor, store=store)
    findings = await check(domain, tools)
    async with store.transaction() as tx:
        current = await _domain(tx, actor, domain_id)
        checked = apply_check(current, findings, clock.now(), tools.policy)
        await tx.save_sending_domain(checked)
    return checked


async def check(domain: SendingDomain, tools: SendingTools) -> list[Finding]:
    answers: dict[tuple[str, str], list[str]] = {}
    keys = {k.selector: k for k in domain.keys}
    findings = []
    for record in records(domain, tools.policy):
        asked = (record.type, record.name)
        if asked not in answers:
            lookup = tools.dns.mx if record.type == "MX" else tools.dns.txt
            answers[asked] = await lookup(record.name)
        key = keys.get(record.selector or "")
        findings.append(judge(record, answers[asked], tools.policy, key))
    return findings


async def rotate(
    domain_id: UUID, *, actor: Principal, store: Store, tools: SendingTools, clock: Clock
) -> SendingDomain:
    """Adds the next generation of keys under new selectors, pending: they sign once a check
    finds them published, and the keys they replace then retire (still listed, to be kept
    in DNS until mail signed with them has arrived). Rotating again before that replaces
    the pending generation."""
    _require_admin(actor)
    async with store.transaction() as tx:
        domain = await _domain(tx, actor, domain_id)
        kept = tuple(k for k in domain.keys if k.state != "pending")
        fresh = new_keys(
            domain.domain,
            tools.vault,
            clock.now(),
            ed25519=domain.ed25519,
            taken={k.selector for k in domain.keys},
            state="pending",
        )
        rotated = replace(domain, keys=kept + fresh)
        await tx.save_sending_domain(rotated)
    return rotated


async def remove_key(
    domain_id: UUID, selector: str, *, actor: Principal, store: Store
) -> SendingDomain:
    """Forgets a retiring (or never published, pending) key; signing keys stay."""
    _require_admin(actor)
    async with store.transaction() as tx:
        domain = await _domain(tx, actor, domain_id)
        key = next((k for k in domain.keys if k.selector == selector), None)
        if key is None:
            raise NotFound("selector")
        if key.state == "active":
            raise Conflict(
                "this key signs the domain's mail: rotate first, then remove it once retiring",
                field="selector",
            )
        removed = replace(domain, keys=tuple(k for k in domain.keys if k is not key))
        await tx.save_sending_domain(removed)
    return removed


async def delete(domain_id: UUID, *, actor: Principal, store: Store) -> None:
    """Campaigns already released keep their keys; any later one from this domain is refused."""
    _require_admin(actor)
    async with store.transaction() as tx:
        await _domain(tx, actor, domain_id)
        await tx.delete_sending_domain(actor.tenant_id, domain_id)


async def _domain(tx: Tx, actor: Principal, domain_id: UUID) -> SendingDomain:
    domain = await tx.sending_domain(actor.tenant_id, domain_id)
    if domain is None:
        raise NotFound("sending domain")
    return domain


def _require_admin(actor: Principal) -> None:
    if not actor.at_least(Role.ADMIN):
        raise Forbidden(None, "sending domains need role admin")
