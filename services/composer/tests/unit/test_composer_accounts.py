"""Tenant settings, users, keys and registered senders."""

from __future__ import annotations

import pytest
from composer_tests_fakes import SECRET

from composer import accounts
from composer.accounts import SenderInput, TenantInput, UserInput
from mailkit.keys import KeyVault
from servicekit.auth import Role, hash_secret, split_key
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
async def admin(store):
    _, user, key = await accounts.bootstrap(
        TenantInput(company_name="Acme KK", postal_address="Tokyo", contact="03"),
        UserInput(name="Ada Admin", email="ada@acme.example"),
        store=store,
        vault=KeyVault(SECRET),
    )
    return store.state.users[user.id], key


def principal(user):
    from servicekit.auth import Principal

    return Principal(user.tenant_id, user.id, user.role)


async def test_bootstrap_creates_a_tenant_an_admin_and_a_hashed_key(store, admin):
    user, key = admin
    assert user.role is Role.ADMIN
    assert store.state.tenants[user.tenant_id].time_zone == "Asia/Tokyo"
    key_id, secret = split_key(key.api_key) or ("", "")
    stored_hash, tenant_id, user_id, revoked = store.state.keys[key_id]
    assert stored_hash == hash_secret(secret) and secret not in stored_hash
    assert (tenant_id, user_id, revoked) == (user.tenant_id, user.id, False)


async def test_bootstrap_refuses_an_unknown_time_zone(store):
    with pytest.raises(Invalid) as exc:
        await accounts.bootstrap(
            TenantInput(company_name="X", postal_address="Y", time_zone="Mars/Olympus"),
            UserInput(name="A", email="a@x.example"),
            store=store,
            vault=KeyVault(SECRET),
        )
    assert exc.value.errors[0].field == "time_zone"
    assert not store.state.tenants


async def test_only_admins_create_users_and_each_gets_a_key(store, admin):
    user, _ = admin
    created, key = await accounts.create_user(
        UserInput(name="Mo", email="mo@acme.example", role="manager"),
        actor=principal(user),
        store=store,
    )
    assert created.role is Role.MANAGER and key.user_id == created.id
    with pytest.raises(Forbidden):
        await accounts.create_user(
            UserInput(name="Eve", email="eve@acme.example"),
            actor=principal(created),
            store=store,
        )
    with pytest.raises(Conflict):
        await accounts.create_user(
            UserInput(name="Mo 2", email="MO@acme.example"), actor=principal(user), store=store
        )


@pytest.mark.parametrize(
    ("name", "email", "field"),
    [
        ("Mo\r\nBcc: x@y.example", "mo@acme.example", "name"),
        ("Mo", "mo@", "email"),
        ("", "a@b.c", "name"),
    ],
)
async def test_user_names_are_one_line_and_addresses_valid(store, admin, name, email, field):
    user, _ = admin
    with pytest.raises(Invalid) as exc:
        await accounts.create_user(
            UserInput(name=name, email=email), actor=principal(user), store=store
        )
    assert field in {e.field for e in exc.value.errors}


async def test_users_edit_their_own_signature_but_not_their_role(store, admin):
    user, _ = admin
    member, _ = await accounts.create_user(
        UserInput(name="Mo", email="mo@acme.example"), actor=principal(user), store=store
    )
    me = principal(member)
    updated = await accounts.update_user(
        member.id, {"signature": "Mo\nAcme"}, actor=me, store=store
    )
    assert updated.signature == "Mo\nAcme"
    with pytest.raises(Forbidden):
        await accounts.update_user(member.id, {"role": "admin"}, actor=me, store=store)
    with pytest.raises(Forbidden):
        await accounts.update_user(user.id, {"signature": "x"}, actor=me, store=store)
    promoted = await accounts.update_user(
        member.id, {"role": "manager"}, actor=principal(user), store=store
    )
    assert promoted.role is Role.MANAGER


async def test_keys_are_issued_and_revoked_within_the_tenant(store, admin):
    user, key = admin
    extra = await accounts.issue_key(user.id, actor=principal(user), store=store)
    await accounts.revoke_key(extra.key_id, actor=principal(user), store=store)
    assert store.state.keys[extra.key_id][3] is True
    outsider_tenant = store.add_tenant()
    outsider = store.add_user(outsider_tenant, Role.ADMIN)
    with pytest.raises(NotFound):
        await accounts.revoke_key(key.key_id, actor=outsider, store=store)
    assert store.state.keys[key.key_id][3] is False


async def test_registered_senders_need_a_manager_and_a_valid_one_line_name(store, admin):
    user, _ = admin
    sender = await accounts.create_sender(
        SenderInput(name="Support", email="support@acme.example"),
        actor=principal(user),
        store=store,
    )
    assert sender.created_by == user.id
    member = store.add_user(store.state.tenants[user.tenant_id], Role.MEMBER)
    with pytest.raises(Forbidden):
        await accounts.create_sender(
            SenderInput(name="S", email="s@acme.example"), actor=member, store=store
        )
    with pytest.raises(Invalid):
        await accounts.create_sender(
            SenderInput(name="S\nT", email="s@acme.example"), actor=principal(user), store=store
        )
    await accounts.delete_sender(sender.id, actor=principal(user), store=store)
    with pytest.raises(NotFound):
        await accounts.get_sender(sender.id, actor=principal(user), store=store)


async def test_only_admins_change_the_tenant_and_the_zone_must_exist(store, admin):
    user, _ = admin
    changed = await accounts.update_tenant(
        {"time_zone": "Europe/Paris", "contact": "+33"}, actor=principal(user), store=store
    )
    assert (changed.time_zone, changed.contact, changed.company_name) == (
        "Europe/Paris",
        "+33",
        "Acme KK",
    )
    with pytest.raises(Invalid):
        await accounts.update_tenant({"time_zone": "Nowhere"}, actor=principal(user), store=store)
    member = store.add_user(store.state.tenants[user.tenant_id], Role.MANAGER)
    with pytest.raises(Forbidden):
        await accounts.update_tenant({"contact": "x"}, actor=member, store=store)


async def test_another_tenants_users_and_senders_are_not_found(store, admin):
    user, _ = admin
    outsider = store.add_user(store.add_tenant(), Role.ADMIN)
    sender = store.add_sender(store.state.tenants[user.tenant_id], principal(user))
    for call in (
        accounts.get_user(user.id, actor=outsider, store=store),
        accounts.update_user(user.id, {"name": "x"}, actor=outsider, store=store),
        accounts.issue_key(user.id, actor=outsider, store=store),
        accounts.get_sender(sender.id, actor=outsider, store=store),
        accounts.delete_sender(sender.id, actor=outsider, store=store),
    ):
        with pytest.raises(NotFound):
            await call


async def test_the_last_admin_cannot_be_demoted(store, admin):
    user, _ = admin
    with pytest.raises(Conflict):
        await accounts.update_user(user.id, {"role": "manager"}, actor=principal(user), store=store)
    second = store.add_user(store.state.tenants[user.tenant_id], Role.ADMIN)
    demoted = await accounts.update_user(user.id, {"role": "manager"}, actor=second, store=store)
    assert demoted.role is Role.MANAGER
