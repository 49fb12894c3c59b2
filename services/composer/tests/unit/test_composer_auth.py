"""Password sign-in, session keys, password changes and the failed-attempt limit."""

from __future__ import annotations

from datetime import timedelta

import composer_tests_fakes as fakes
import pytest

from composer import auth
from composer.auth import LoginInput, LoginPolicy, PasswordChange
from servicekit.auth import Role, hash_secret, split_key
from servicekit.errors import Forbidden, Invalid, NotFound

PASSWORD = "correct horse battery"
POLICY = LoginPolicy(session_ttl=timedelta(hours=12), failure_limit=3)


@pytest.fixture
def logins(store):
    return fakes.FakeLogins(store)


@pytest.fixture
def hasher():
    return fakes.FakeHasher()


async def sign_in(logins, hasher, clock, email, password=PASSWORD, tenant_id=None):
    request = LoginInput(email=email, password=password, tenant_id=tenant_id)
    return await auth.login(request, logins=logins, hasher=hasher, clock=clock, policy=POLICY)


async def with_password(logins, hasher, principal, password=PASSWORD):
    await logins.set_password(principal.tenant_id, principal.user_id, await hasher.hash(password))


async def test_a_sign_in_issues_an_expiring_session_key(store, logins, hasher, clock):
    tenant = store.add_tenant()
    user = store.add_user(tenant, Role.MANAGER, email="mo@acme.example")
    await with_password(logins, hasher, user)
    session = await sign_in(logins, hasher, clock, "MO@acme.example ")
    assert session.user.id == user.user_id and session.company_name == "Acme KK"
    assert session.expires_at == clock.now() + timedelta(hours=12)
    key_id, secret = split_key(session.api_key) or ("", "")
    assert store.state.keys[key_id] == (hash_secret(secret), tenant.id, user.user_id, False)
    await auth.logout(key_id, logins=logins)
    assert store.state.keys[key_id][3] is True


async def test_a_wrong_password_or_unknown_address_is_401_alike(store, logins, hasher, clock):
    user = store.add_user(store.add_tenant(), email="mo@acme.example")
    await with_password(logins, hasher, user)
    for email, password in (("mo@acme.example", "wrong password"), ("no@acme.example", "x")):
        with pytest.raises(auth.Unauthenticated) as exc:
            await sign_in(logins, hasher, clock, email, password)
        assert exc.value.errors[0].field == "password"


async def test_a_user_without_a_password_cannot_sign_in(store, logins, hasher, clock):
    store.add_user(store.add_tenant(), email="mo@acme.example")
    with pytest.raises(auth.Unauthenticated):
        await sign_in(logins, hasher, clock, "mo@acme.example", "")


async def test_failures_per_address_are_limited_within_the_window(store, logins, hasher, clock):
    user = store.add_user(store.add_tenant(), email="mo@acme.example")
    await with_password(logins, hasher, user)
    for _ in range(3):
        with pytest.raises(auth.Unauthenticated):
            await sign_in(logins, hasher, clock, "mo@acme.example", "guess")
    with pytest.raises(auth.TooManyAttempts):
        await sign_in(logins, hasher, clock, "MO@acme.example")  # even the right password
    clock.advance(minutes=16)
    assert (await sign_in(logins, hasher, clock, "mo@acme.example")).user.id == user.user_id
    assert "mo@acme.example" not in logins.failure_windows


async def test_an_address_in_two_tenants_names_them_only_to_the_password(
    store, logins, hasher, clock
):
    first, second = store.add_tenant(), store.add_tenant()
    one = store.add_user(first, email="mo@acme.example")
    two = store.add_user(second, email="mo@acme.example")
    await with_password(logins, hasher, one)
    await with_password(logins, hasher, two)
    with pytest.raises(auth.Unauthenticated):
        await sign_in(logins, hasher, clock, "mo@acme.example", "wrong password")
    with pytest.raises(auth.TenantRequired) as exc:
        await sign_in(logins, hasher, clock, "mo@acme.example")
    assert {t for t, _ in exc.value.tenants} == {first.id, second.id}
    assert exc.value.errors[0].field == "tenant_id"
    session = await sign_in(logins, hasher, clock, "mo@acme.example", tenant_id=second.id)
    assert session.user.id == two.user_id


async def test_own_password_changes_only_with_the_current_one(store, logins, hasher):
    user = store.add_user(store.add_tenant(), email="mo@acme.example")
    await with_password(logins, hasher, user)
    wrong = PasswordChange(current_password="nope", new_password="a new password")
    with pytest.raises(Invalid) as exc:
        await auth.change_password(user.user_id, wrong, actor=user, logins=logins, hasher=hasher)
    assert exc.value.errors[0].field == "current_password"
    short = PasswordChange(current_password=PASSWORD, new_password="short")
    with pytest.raises(Invalid) as exc:
        await auth.change_password(user.user_id, short, actor=user, logins=logins, hasher=hasher)
    assert exc.value.errors[0].field == "new_password"
    right = PasswordChange(current_password=PASSWORD, new_password="a new password")
    await auth.change_password(user.user_id, right, actor=user, logins=logins, hasher=hasher)
    assert await hasher.verify(logins.passwords[user.user_id], "a new password")


async def test_an_admin_resets_another_users_password_and_signs_them_out(
    store, logins, hasher, clock
):
    tenant = store.add_tenant()
    admin = store.add_user(tenant, Role.ADMIN)
    manager = store.add_user(tenant, Role.MANAGER, email="mo@acme.example")
    await with_password(logins, hasher, manager)
    session = await sign_in(logins, hasher, clock, "mo@acme.example")
    reset = PasswordChange(new_password="chosen by the admin")
    with pytest.raises(Forbidden):
        await auth.change_password(
            admin.user_id, reset, actor=manager, logins=logins, hasher=hasher
        )
    await auth.change_password(manager.user_id, reset, actor=admin, logins=logins, hasher=hasher)
    assert store.state.keys[session.key_id][3] is True
    outsider = store.add_user(store.add_tenant(), Role.ADMIN)
    with pytest.raises(NotFound):
        await auth.change_password(
            manager.user_id, reset, actor=outsider, logins=logins, hasher=hasher
        )


async def test_the_operator_sets_a_password_by_address(store, logins, hasher, clock):
    tenant = store.add_tenant()
    admin = store.add_user(tenant, Role.ADMIN, email="ada@acme.example")
    with pytest.raises(Invalid):
        await auth.set_password("ada@acme.example", "short", None, logins=logins, hasher=hasher)
    with pytest.raises(NotFound):
        await auth.set_password("no@acme.example", PASSWORD, None, logins=logins, hasher=hasher)
    user = await auth.set_password("Ada@acme.example", PASSWORD, None, logins=logins, hasher=hasher)
    assert user.id == admin.user_id
    assert (await sign_in(logins, hasher, clock, "ada@acme.example")).user.id == admin.user_id
