"""Every From on a verified sending domain of the tenant (SPEC §9.1), through the handlers."""

from __future__ import annotations

from typing import Any

import pytest
from composer_tests_fakes import SECRET
from composer_tests_helpers import draft

from composer import accounts, handlers
from composer.accounts import SenderInput, TenantInput, UserInput
from contracts import CampaignScheduled
from mailkit.keys import KeyVault
from servicekit.auth import Role
from servicekit.errors import Invalid


@pytest.fixture
def tenant(store):
    tenant = store.add_tenant(domains=("acme.example",))
    store.add_domain(tenant, "news.acme.example", status="pending")
    return tenant


@pytest.fixture
def manager(store, tenant):
    return store.add_user(tenant, Role.MANAGER, email="max@acme.example")


async def refused(store, clock, actor, campaign) -> list[Any]:
    for attempt in (
        handlers.send_now(campaign.id, actor=actor, store=store, clock=clock),
        handlers.schedule_campaign(
            campaign.id, "2030-02-01T09:00", actor=actor, store=store, clock=clock
        ),
    ):
        with pytest.raises(Invalid) as exc:
            await attempt
    assert not store.state.outbox
    return exc.value.errors


async def test_a_changed_sender_on_a_pending_domain_is_saved_with_a_warning_then_refused(
    store, clock, manager
):
    campaign = await draft(
        store, clock, manager, sender_mode="changed", sender_name="News",
        sender_email="hello@news.acme.example",
    )  # fmt: skip
    [warning] = campaign.warnings
    assert warning.field == "sender_email" and warning.allowed == ["acme.example"]
    [error] = await refused(store, clock, manager, campaign)
    assert error.field == "sender_email" and error.allowed == ["acme.example"]
    assert "hello@news.acme.example" in error.reason and "not on a verified" in error.reason


async def test_self_on_behalf_and_owners_must_all_be_on_verified_domains(
    store, clock, tenant, manager
):
    stray = store.add_user(tenant, Role.MEMBER, email="old@news.acme.example", name="Old")
    legacy = store.add_sender(tenant, manager, email="help@news.acme.example")
    cases = {
        "sender_mode": ({}, stray),
        "sender_user_id": ({"sender_mode": "on_behalf_user", "sender_user_id": str(stray.user_id)},
                           manager),
        "sender_registered_id": ({"sender_mode": "on_behalf_registered",
                                  "sender_registered_id": str(legacy.id)}, manager),
        "send_as_owner": ({"send_as_owner": True}, manager),
    }  # fmt: skip
    for field_name, (overrides, actor) in cases.items():
        campaign = await draft(store, clock, actor, **overrides)
        errors = await refused(store, clock, actor, campaign)
        assert [e.field for e in errors] == [field_name]
    owners = (await draft(store, clock, manager, send_as_owner=True)).warnings[0]
    assert "old@news.acme.example (owner Old)" in owners.reason
    assert "max@acme.example" not in owners.reason


async def test_the_snapshot_carries_the_sealed_keys_of_each_from_domain(
    store, clock, tenant, manager
):
    other = store.add_domain(tenant, "shop.example")
    store.add_user(tenant, Role.MEMBER, email="owner@shop.example")
    campaign = await draft(store, clock, manager, send_as_owner=True)
    assert campaign.warnings == []
    await handlers.send_now(campaign.id, actor=manager, store=store, clock=clock)
    [event] = [e for e in store.state.outbox if isinstance(e, CampaignScheduled)]
    assert [(k.domain, k.selector, k.algorithm) for k in event.signing_keys] == [
        ("acme.example", "fake-rsa", "rsa-sha256"),
        ("shop.example", "fake-rsa", "rsa-sha256"),
    ]
    assert event.signing_keys[1].private_key == other.keys[0].sealed_private_key
    assert "PRIVATE KEY" not in event.model_dump_json()


async def test_a_scheduled_campaign_whose_domain_was_removed_returns_to_drafts(
    store, clock, tenant, manager
):
    campaign = await draft(store, clock, manager)
    await handlers.schedule_campaign(
        campaign.id, "2030-01-01T10:00", actor=manager, store=store, clock=clock
    )
    store.state.domains.clear()
    clock.advance(hours=2)
    assert await handlers.release_due(store=store, clock=clock) == []
    stored = store.state.campaigns[campaign.id]
    assert stored.state == "draft" and "not on a verified" in (stored.last_error or "")


async def test_bootstrap_registers_the_admins_domain_pending(store):
    tenant, _, _ = await accounts.bootstrap(
        TenantInput(company_name="Beta", postal_address="Osaka"),
        UserInput(name="Bea", email="bea@Beta.Example"),
        store=store,
        vault=KeyVault(SECRET),
    )
    [domain] = store.state.domains.values()
    assert (domain.tenant_id, domain.domain, domain.status) == (
        tenant.id,
        "beta.example",
        "pending",
    )
    assert domain.keys[0].algorithm == "rsa-sha256"


async def test_staff_and_senders_addresses_must_be_on_a_registered_domain(store, tenant, manager):
    admin = store.add_user(tenant, Role.ADMIN, email="ada@acme.example")
    with pytest.raises(Invalid) as exc:
        await accounts.create_user(
            UserInput(name="Eve", email="eve@elsewhere.example"), actor=admin, store=store
        )
    [error] = exc.value.errors
    assert error.field == "email" and "elsewhere.example" in error.reason
    assert error.allowed == ["acme.example", "news.acme.example"]
    pending_ok, _ = await accounts.create_user(
        UserInput(name="Pat", email="pat@news.acme.example"), actor=admin, store=store
    )
    with pytest.raises(Invalid):
        await accounts.update_user(
            pending_ok.id, {"email": "pat@gmail.example"}, actor=admin, store=store
        )
    await accounts.update_user(pending_ok.id, {"name": "Pat 2"}, actor=admin, store=store)
    with pytest.raises(Invalid):
        await accounts.create_sender(
            SenderInput(name="Spoof", email="security@bank.example"), actor=admin, store=store
        )
