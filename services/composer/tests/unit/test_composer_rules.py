"""Every composing rule, through the handlers, against the in-memory ports."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from composer_tests_helpers import on_behalf

from composer import handlers
from composer.domain import CampaignContent
from composer.rules import MAX_BODY_BYTES, MAX_CUSTOMER_IDS
from servicekit.auth import Role
from servicekit.errors import Forbidden, Invalid


def content(**overrides: Any) -> CampaignContent:
    values: dict[str, Any] = {
        "subject": "Spring sale for {{ full_name }}",
        "html_body": "<p>Dear {{ last_name }}</p>",
        "text_body": "Dear {{ last_name }}",
        "recipients": {"include_group_ids": [str(uuid.uuid4())]},
    }
    return CampaignContent.model_validate(values | overrides)


def fields(exc: pytest.ExceptionInfo[Invalid]) -> dict[str | None, str]:
    return {e.field: e.reason for e in exc.value.errors}


@pytest.fixture
def tenant(store):
    return store.add_tenant()


@pytest.fixture
def member(store, tenant):
    return store.add_user(tenant, Role.MEMBER)


@pytest.fixture
def manager(store, tenant):
    return store.add_user(tenant, Role.MANAGER, signature="-- \nManager")


async def create(store, clock, actor, **overrides: Any):
    return await handlers.create_campaign(
        content(**overrides), actor=actor, store=store, clock=clock
    )


async def test_a_complete_draft_is_accepted_and_its_merge_fields_are_parsed(store, clock, member):
    campaign = await create(store, clock, member)
    assert campaign.merge_fields == ["full_name", "last_name"]


@pytest.mark.parametrize("subject", ["", "   "])
async def test_subject_is_required(store, clock, member, subject):
    with pytest.raises(Invalid) as exc:
        await create(store, clock, member, subject=subject)
    assert fields(exc) == {"subject": "is required"}


async def test_a_body_is_required(store, clock, member):
    with pytest.raises(Invalid) as exc:
        await create(store, clock, member, html_body=None, text_body="  ")
    assert fields(exc) == {"body": "html_body or text_body is required"}


async def test_either_body_alone_is_enough(store, clock, member):
    await create(store, clock, member, html_body=None)
    await create(store, clock, member, text_body=None)


@pytest.mark.parametrize("bad", ["Hi\r\nBcc: x@evil.example", "Hi\nthere", "Hi\rthere", "a\x00b"])
async def test_cr_lf_in_subject_is_refused(store, clock, member, bad):
    with pytest.raises(Invalid) as exc:
        await create(store, clock, member, subject=bad)
    assert "CR, LF" in fields(exc)["subject"]


async def test_subject_longer_than_a_header_line_is_refused(store, clock, member):
    with pytest.raises(Invalid) as exc:
        await create(store, clock, member, subject="x" * 999)
    assert "at most 998" in fields(exc)["subject"]


async def test_oversized_bodies_are_refused(store, clock, member):
    big = "あ" * (MAX_BODY_BYTES // 3 + 1)  # three UTF-8 bytes each
    with pytest.raises(Invalid) as exc:
        await create(store, clock, member, html_body=big, text_body=big)
    assert set(fields(exc)) == {"html_body", "text_body"}


async def test_unknown_merge_fields_are_refused_with_the_allowed_list(store, clock, member):
    with pytest.raises(Invalid) as exc:
        await create(
            store, clock, member, subject="{{ nickname }}", text_body="{{ foo }} {{ attr.x-y }}"
        )
    errors = {e.field: e for e in exc.value.errors}
    assert errors["subject"].reason == "unknown merge field(s): nickname"
    assert errors["text_body"].reason == "unknown merge field(s): foo, attr.x-y"
    assert "sender_signature" in (errors["subject"].allowed or [])
    assert "attr.<attribute key>" in (errors["subject"].allowed or [])


async def test_custom_attributes_are_known_merge_fields(store, clock, member):
    campaign = await create(store, clock, member, text_body="{{attr.plan}} {{ company }}")
    assert "attr.plan" in campaign.merge_fields


async def test_at_least_one_recipient_source_is_required(store, clock, member):
    only_excluded = {
        "exclude_group_ids": [str(uuid.uuid4())],
        "excluded_customer_ids": [str(uuid.uuid4())],
    }
    for spec in ({}, only_excluded):
        with pytest.raises(Invalid) as exc:
            await create(store, clock, member, recipients=spec)
        assert fields(exc) == {"recipients": "at least one customer or included group is required"}


async def test_individual_customers_alone_are_a_source(store, clock, member):
    await create(store, clock, member, recipients={"customer_ids": [str(uuid.uuid4())]})


async def test_fifteen_groups_across_both_lists_are_allowed_the_sixteenth_is_not(
    store, clock, member
):
    groups = [str(uuid.uuid4()) for _ in range(16)]
    await create(
        store,
        clock,
        member,
        recipients={"include_group_ids": groups[:10], "exclude_group_ids": groups[10:15]},
    )
    with pytest.raises(Invalid) as exc:
        await create(
            store,
            clock,
            member,
            recipients={"include_group_ids": groups[:10], "exclude_group_ids": groups[10:]},
        )
    assert fields(exc) == {"recipients": "at most 15 groups across include and exclude, got 16"}


async def test_a_group_cannot_be_both_included_and_excluded(store, clock, member):
    group = str(uuid.uuid4())
    with pytest.raises(Invalid) as exc:
        await create(
            store,
            clock,
            member,
            recipients={"include_group_ids": [group], "exclude_group_ids": [group]},
        )
    assert "both included and excluded" in fields(exc)["recipients"]


async def test_too_many_individual_customers_are_refused(store, clock, member):
    ids = [str(uuid.uuid4()) for _ in range(MAX_CUSTOMER_IDS + 1)]
    with pytest.raises(Invalid) as exc:
        await create(store, clock, member, recipients={"customer_ids": ids})
    assert "recipients.customer_ids" in fields(exc)


@pytest.mark.parametrize(
    "sender",
    [
        {"sender_mode": "changed", "sender_name": "Sales", "sender_email": "sales@acme.example"},
        {"sender_mode": "on_behalf_user", "sender_user_id": str(uuid.uuid4())},
        {"sender_mode": "on_behalf_registered", "sender_registered_id": str(uuid.uuid4())},
    ],
)
async def test_only_a_manager_or_above_may_change_the_sender(store, clock, member, sender):
    with pytest.raises(Forbidden) as exc:
        await create(store, clock, member, **sender)
    assert exc.value.field == "sender_mode"


async def test_a_manager_may_send_on_behalf_of_a_user_of_the_tenant(
    store, clock, tenant, member, manager
):
    campaign = await create(store, clock, manager, **on_behalf(member))
    assert campaign.content.sender_user_id == member.user_id


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("user", "no such user in this tenant"),
        ("registered", "no such registered sender in this tenant"),
    ],
)
async def test_send_on_behalf_targets_must_belong_to_the_same_tenant(
    store, clock, manager, target, reason
):
    other = store.add_tenant()
    stranger = store.add_user(other, Role.ADMIN)
    foreign = stranger if target == "user" else store.add_sender(other, stranger)
    with pytest.raises(Invalid) as exc:
        await create(store, clock, manager, **on_behalf(foreign))
    assert fields(exc) == {f"sender_{target}_id": reason}


async def test_on_behalf_needs_its_target(store, clock, manager):
    with pytest.raises(Invalid) as exc:
        await create(store, clock, manager, sender_mode="on_behalf_user")
    assert "sender_user_id" in fields(exc)
    with pytest.raises(Invalid) as exc:
        await create(store, clock, manager, sender_mode="on_behalf_registered")
    assert "sender_registered_id" in fields(exc)


async def test_a_changed_sender_must_be_on_a_domain_the_tenant_sends_from(store, clock, manager):
    ok = await create(
        store,
        clock,
        manager,
        sender_mode="changed",
        sender_name="Campaign team",
        sender_email="campaigns@ACME.example",
    )
    assert ok.content.sender_email == "campaigns@ACME.example"
    with pytest.raises(Invalid) as exc:
        await create(
            store,
            clock,
            manager,
            sender_mode="changed",
            sender_name="Bank",
            sender_email="security@bank.example",
        )
    assert exc.value.errors[0].field == "sender_email"
    assert exc.value.errors[0].allowed == ["acme.example"]


@pytest.mark.parametrize(
    ("name", "email", "field"),
    [
        ("Sales\r\nBcc: all@acme.example", "sales@acme.example", "sender_name"),
        ("Sales", "not-an-address", "sender_email"),
        ("Sales", None, "sender_email"),
    ],
)
async def test_a_changed_sender_is_one_header_line_and_a_real_address(
    store, clock, manager, name, email, field
):
    with pytest.raises(Invalid) as exc:
        await create(
            store, clock, manager, sender_mode="changed", sender_name=name, sender_email=email
        )
    assert field in fields(exc)


async def test_turning_the_footer_off_records_who_and_when(store, clock, member, manager):
    campaign = await create(store, clock, member, footer_enabled=False)
    assert (campaign.footer_disabled_by, campaign.footer_disabled_at) == (
        member.user_id,
        clock.now(),
    )
    clock.advance(minutes=5)
    edited = await handlers.update_campaign(
        campaign.id, {"subject": "New"}, actor=manager, store=store, clock=clock
    )
    assert edited.footer_disabled_by == member.user_id, "who turned it off stays recorded"
    back_on = await handlers.update_campaign(
        campaign.id, {"footer_enabled": True}, actor=manager, store=store, clock=clock
    )
    assert back_on.footer_disabled_by is None and back_on.footer_disabled_at is None


async def test_the_footer_is_on_by_default(store, clock, member):
    campaign = await create(store, clock, member)
    assert campaign.content.footer_enabled and campaign.footer_disabled_by is None


async def test_tracking_timings_default_to_daily(store, clock, member):
    campaign = await create(store, clock, member)
    tracking = campaign.content.tracking
    assert tracking.track_opens and tracking.track_clicks
    assert {tracking.first_open_timing, tracking.reopen_timing, tracking.click_timing} == {"daily"}


# ---------------------------------------------------------------- SPEC §3.6 signature rule


async def on_behalf_with_signature(store, clock, manager, target):
    text_body = "Regards\n{{ sender_signature }}"
    return await create(store, clock, manager, text_body=text_body, **on_behalf(target))


async def test_on_behalf_with_signature_field_is_refused_when_own_signature_is_empty(
    store, clock, tenant, member
):
    manager = store.add_user(tenant, Role.MANAGER, signature="")
    target = store.add_user(tenant, Role.MEMBER, signature="Target's signature")
    campaign = await on_behalf_with_signature(store, clock, manager, target)
    with pytest.raises(Invalid) as exc:
        await handlers.send_now(campaign.id, actor=manager, store=store, clock=clock)
    assert "signature" in fields(exc)
    with pytest.raises(Invalid):
        await handlers.schedule_campaign(
            campaign.id, "2030-02-01T09:00", actor=manager, store=store, clock=clock
        )
    assert not store.state.outbox and store.state.campaigns[campaign.id].state == "draft"


async def test_the_logged_in_users_signature_is_what_counts(store, clock, tenant, manager):
    target_without = store.add_user(tenant, Role.MEMBER, signature="")
    campaign = await on_behalf_with_signature(store, clock, manager, target_without)
    sent = await handlers.send_now(campaign.id, actor=manager, store=store, clock=clock)
    assert sent.state == "sending"


async def test_the_signature_rule_applies_to_registered_senders_too(store, clock, tenant):
    manager = store.add_user(tenant, Role.MANAGER, signature=" ")
    sender = store.add_sender(tenant, manager)
    html_body = "<p>{{sender_signature}}</p>"
    campaign = await create(store, clock, manager, html_body=html_body, **on_behalf(sender))
    with pytest.raises(Invalid):
        await handlers.send_now(campaign.id, actor=manager, store=store, clock=clock)
    store.set_signature(manager, "Manager")
    await handlers.send_now(campaign.id, actor=manager, store=store, clock=clock)


async def test_the_signature_rule_does_not_apply_without_on_behalf(store, clock, member):
    campaign = await create(store, clock, member, text_body="{{ sender_signature }}")
    await handlers.send_now(campaign.id, actor=member, store=store, clock=clock)
