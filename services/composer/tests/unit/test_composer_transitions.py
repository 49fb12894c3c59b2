"""The campaign state machine and what each transition leaves in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from composer_tests_helpers import draft, on_behalf

from composer import handlers
from contracts import CampaignCancelled, CampaignScheduled
from servicekit.auth import Role
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
def tenant(store):
    return store.add_tenant()


@pytest.fixture
def member(store, tenant):
    return store.add_user(tenant, Role.MEMBER, name="Mia Member", signature="Mia")


@pytest.fixture
def manager(store, tenant):
    return store.add_user(tenant, Role.MANAGER, name="Max Manager", signature="Max")


def scheduled_events(store) -> list[CampaignScheduled]:
    return [e for e in store.state.outbox if isinstance(e, CampaignScheduled)]


# ---------------------------------------------------------------- schedule


async def test_schedule_reads_a_naive_time_in_the_tenant_time_zone(store, clock, member):
    campaign = await draft(store, clock, member)
    scheduled = await handlers.schedule_campaign(
        campaign.id, "2030-01-02T09:00", actor=member, store=store, clock=clock
    )
    assert scheduled.state == "scheduled"
    assert scheduled.scheduled_for == datetime(2030, 1, 2, 0, 0, tzinfo=UTC)  # 09:00 JST
    assert scheduled.scheduled_by == member.user_id
    assert not store.state.outbox, "nothing is released before its time"


async def test_schedule_honours_an_explicit_offset_and_another_tenant_zone(store, clock):
    tenant = store.add_tenant(time_zone="America/New_York")
    user = store.add_user(tenant)
    campaign = await draft(store, clock, user)
    naive = await handlers.schedule_campaign(
        campaign.id, "2030-01-02T09:00", actor=user, store=store, clock=clock
    )
    assert naive.scheduled_for == datetime(2030, 1, 2, 14, 0, tzinfo=UTC)
    await handlers.cancel_campaign(campaign.id, actor=user, store=store, clock=clock)
    explicit = await handlers.schedule_campaign(
        campaign.id, "2030-01-02T09:00+02:00", actor=user, store=store, clock=clock
    )
    assert explicit.scheduled_for == datetime(2030, 1, 2, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("send_at", "reason"),
    [
        ("2029-12-31T23:59Z", "must be in the future"),
        ("2030-01-01T09:00", "must be in the future"),  # 09:00 JST is midnight UTC: now
        ("2031-06-01T00:00Z", "must be within 366 days"),
        ("next tuesday", "is not an ISO 8601 date-time"),
    ],
)
async def test_schedule_refuses_past_far_and_malformed_times(store, clock, member, send_at, reason):
    campaign = await draft(store, clock, member)
    with pytest.raises(Invalid) as exc:
        await handlers.schedule_campaign(
            campaign.id, send_at, actor=member, store=store, clock=clock
        )
    assert exc.value.errors[0].field == "send_at"
    assert exc.value.errors[0].reason.startswith(reason)


async def test_a_scheduled_campaign_cannot_be_edited_sent_deleted_or_rescheduled(
    store, clock, member
):
    campaign = await draft(store, clock, member)
    await handlers.schedule_campaign(
        campaign.id, "2030-02-01T09:00", actor=member, store=store, clock=clock
    )
    attempts = [
        handlers.update_campaign(
            campaign.id, {"subject": "x"}, actor=member, store=store, clock=clock
        ),
        handlers.send_now(campaign.id, actor=member, store=store, clock=clock),
        handlers.delete_campaign(campaign.id, actor=member, store=store),
        handlers.schedule_campaign(
            campaign.id, "2030-03-01T09:00", actor=member, store=store, clock=clock
        ),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as exc:
            await attempt
        assert "cancel it first" in exc.value.reason


# ---------------------------------------------------------------- cancel


async def test_cancel_moves_a_scheduled_campaign_back_to_drafts(store, clock, member):
    campaign = await draft(store, clock, member)
    await handlers.schedule_campaign(
        campaign.id, "2030-02-01T09:00", actor=member, store=store, clock=clock
    )
    cancelled = await handlers.cancel_campaign(campaign.id, actor=member, store=store, clock=clock)
    assert cancelled.state == "draft" and cancelled.folder == "drafts"
    assert cancelled.scheduled_for is None and cancelled.cancelled_by == member.user_id
    [event] = store.state.outbox
    assert isinstance(event, CampaignCancelled) and event.campaign_id == campaign.id
    edited = await handlers.update_campaign(
        campaign.id, {"subject": "Fixed"}, actor=member, store=store, clock=clock
    )
    assert edited.content.subject == "Fixed"
    clock.advance(days=60)
    assert await handlers.release_due(store=store, clock=clock) == []


async def test_cancel_of_a_draft_is_refused(store, clock, member):
    campaign = await draft(store, clock, member)
    with pytest.raises(Conflict):
        await handlers.cancel_campaign(campaign.id, actor=member, store=store, clock=clock)


async def test_cancel_after_release_is_refused(store, clock, member):
    campaign = await draft(store, clock, member)
    await handlers.schedule_campaign(
        campaign.id, "2030-01-01T10:00", actor=member, store=store, clock=clock
    )
    clock.advance(hours=2)
    assert await handlers.release_due(store=store, clock=clock) == [campaign.id]
    with pytest.raises(Conflict) as exc:
        await handlers.cancel_campaign(campaign.id, actor=member, store=store, clock=clock)
    assert exc.value.state == "sending" and "cannot be cancelled" in exc.value.reason
    assert len(scheduled_events(store)) == 1


# ---------------------------------------------------------------- release


async def test_release_takes_only_due_campaigns_and_snapshots_them(store, clock, member):
    due = await draft(store, clock, member)
    later = await draft(store, clock, member)
    await handlers.schedule_campaign(
        due.id, "2030-01-01T10:00", actor=member, store=store, clock=clock
    )
    await handlers.schedule_campaign(
        later.id, "2030-01-01T12:00", actor=member, store=store, clock=clock
    )
    clock.advance(hours=2)
    assert await handlers.release_due(store=store, clock=clock) == [due.id]
    assert await handlers.release_due(store=store, clock=clock) == [], "released once only"
    [event] = scheduled_events(store)
    assert event.campaign_id == due.id
    assert event.scheduled_for == datetime(2030, 1, 1, 1, 0, tzinfo=UTC)
    stored = store.state.campaigns[due.id]
    assert stored.state == "sending" and stored.released_at == clock.now()
    assert store.state.campaigns[later.id].state == "scheduled"


async def test_send_now_releases_a_draft_with_a_full_snapshot(
    store, clock, tenant, member, manager
):
    # Sending as the owners needs a manager (SPEC §11).
    campaign = await draft(store, clock, manager, footer_enabled=False, send_as_owner=True)
    sent = await handlers.send_now(campaign.id, actor=manager, store=store, clock=clock)
    assert sent.state == "sending" and sent.folder == "sending"
    [event] = scheduled_events(store)
    assert event.tenant_id == tenant.id and event.scheduled_for is None
    assert event.subject == "News" and event.text_body == "Hello {{ first_name }}"
    assert event.merge_fields == ["first_name"]
    assert event.sender.email == store.state.users[manager.user_id].email
    assert event.sender_mode == "self" and event.sender_user_id == manager.user_id
    assert event.notify_user_id == manager.user_id and event.operator.user_id == manager.user_id
    assert event.send_as_owner is True
    assert {s.user_id for s in event.staff} == {member.user_id, manager.user_id}
    assert event.time_zone == "Asia/Tokyo"
    assert event.footer.enabled is False and event.footer.disabled_by_user_id == manager.user_id
    assert event.footer.company_name == tenant.company_name
    assert event.footer.postal_address == tenant.postal_address
    assert store.state.progress[campaign.id].total == 0


async def test_a_campaign_is_released_only_once(store, clock, member):
    campaign = await draft(store, clock, member)
    await handlers.send_now(campaign.id, actor=member, store=store, clock=clock)
    with pytest.raises(Conflict):
        await handlers.send_now(campaign.id, actor=member, store=store, clock=clock)
    assert len(scheduled_events(store)) == 1


@pytest.mark.parametrize("mode", ["on_behalf_user", "on_behalf_registered", "changed"])
async def test_notification_target_follows_the_sender_mode(
    store, clock, tenant, member, manager, mode
):
    registered = store.add_sender(tenant, manager)
    overrides = {
        "on_behalf_user": {"sender_user_id": str(member.user_id)},
        "on_behalf_registered": {"sender_registered_id": str(registered.id)},
        "changed": {"sender_name": "Team", "sender_email": "team@acme.example"},
    }[mode]
    campaign = await draft(store, clock, manager, sender_mode=mode, **overrides)
    await handlers.send_now(campaign.id, actor=manager, store=store, clock=clock)
    [event] = scheduled_events(store)
    expected = {
        "on_behalf_user": (member.user_id, member.user_id, store.state.users[member.user_id].email),
        "on_behalf_registered": (manager.user_id, None, "support@acme.example"),
        "changed": (manager.user_id, None, "team@acme.example"),
    }[mode]
    assert (event.notify_user_id, event.sender_user_id, event.sender.email) == expected
    assert event.operator.user_id == manager.user_id and event.sender_mode == mode


async def test_a_campaign_whose_sender_vanished_returns_to_drafts_at_release(
    store, clock, tenant, manager
):
    registered = store.add_sender(tenant, manager)
    campaign = await draft(store, clock, manager, **on_behalf(registered))
    await handlers.schedule_campaign(
        campaign.id, "2030-01-01T10:00", actor=manager, store=store, clock=clock
    )
    del store.state.senders[registered.id]
    clock.advance(hours=2)
    assert await handlers.release_due(store=store, clock=clock) == []
    stored = store.state.campaigns[campaign.id]
    assert stored.state == "draft" and "registered sender" in (stored.last_error or "")
    assert not scheduled_events(store)


# ---------------------------------------------------------------- drafts, access


async def test_delete_removes_a_draft_but_not_a_released_campaign(store, clock, member):
    campaign = await draft(store, clock, member)
    await handlers.delete_campaign(campaign.id, actor=member, store=store)
    with pytest.raises(NotFound):
        await handlers.get_campaign(campaign.id, actor=member, store=store)
    sent = await draft(store, clock, member)
    await handlers.send_now(sent.id, actor=member, store=store, clock=clock)
    with pytest.raises(Conflict):
        await handlers.delete_campaign(sent.id, actor=member, store=store)


async def test_members_change_only_their_own_campaigns_managers_any(store, clock, tenant, member):
    colleague = store.add_user(tenant, Role.MEMBER)
    manager = store.add_user(tenant, Role.MANAGER)
    campaign = await draft(store, clock, member)
    assert (await handlers.get_campaign(campaign.id, actor=colleague, store=store)).id
    with pytest.raises(Forbidden):
        await handlers.update_campaign(
            campaign.id, {"subject": "x"}, actor=colleague, store=store, clock=clock
        )
    with pytest.raises(Forbidden):
        await handlers.send_now(campaign.id, actor=colleague, store=store, clock=clock)
    edited = await handlers.update_campaign(
        campaign.id, {"subject": "By manager"}, actor=manager, store=store, clock=clock
    )
    assert edited.updated_by == manager.user_id and edited.created_by == member.user_id


async def test_another_tenants_campaign_is_not_found(store, clock, member):
    campaign = await draft(store, clock, member)
    outsider = store.add_user(store.add_tenant(), Role.ADMIN)
    calls = [
        handlers.get_campaign(campaign.id, actor=outsider, store=store),
        handlers.update_campaign(
            campaign.id, {"subject": "x"}, actor=outsider, store=store, clock=clock
        ),
        handlers.send_now(campaign.id, actor=outsider, store=store, clock=clock),
        handlers.schedule_campaign(
            campaign.id, "2030-02-01T00:00", actor=outsider, store=store, clock=clock
        ),
        handlers.cancel_campaign(campaign.id, actor=outsider, store=store, clock=clock),
        handlers.delete_campaign(campaign.id, actor=outsider, store=store),
        handlers.get_progress(campaign.id, actor=outsider, store=store),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            await call
    assert store.state.campaigns[campaign.id].state == "draft"


async def test_an_edit_that_breaks_a_rule_changes_nothing(store, clock, member):
    campaign = await draft(store, clock, member)
    with pytest.raises(Invalid):
        await handlers.update_campaign(
            campaign.id, {"subject": ""}, actor=member, store=store, clock=clock
        )
    assert store.state.campaigns[campaign.id].content.subject == "News"


async def test_folders_list_campaigns_by_state(store, clock, member):
    drafted = await draft(store, clock, member)
    sending = await draft(store, clock, member)
    await handlers.send_now(sending.id, actor=member, store=store, clock=clock)
    listed = {
        folder: [c.id for c in await handlers.list_campaigns(folder, actor=member, store=store)]
        for folder in ("drafts", "scheduled", "sending", "sent")
    }
    assert listed == {"drafts": [drafted.id], "scheduled": [], "sending": [sending.id], "sent": []}
    with pytest.raises(Invalid):
        await handlers.list_campaigns("trash", actor=member, store=store)
