"""Progress from AudienceResolved, DeliveryProgress, Opened and Clicked; completion."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from composer import handlers, progress
from composer.domain import CampaignContent
from contracts import AudienceResolved, Clicked, DeliveryProgress, Opened
from servicekit.auth import Role


@pytest.fixture
async def sending(store, clock):
    tenant = store.add_tenant()
    user = store.add_user(tenant, Role.MEMBER)
    body = CampaignContent.model_validate(
        {
            "subject": "News",
            "text_body": "Hello",
            "recipients": {"include_group_ids": [str(uuid.uuid4())]},
        }
    )
    campaign = await handlers.create_campaign(body, actor=user, store=store, clock=clock)
    await handlers.send_now(campaign.id, actor=user, store=store, clock=clock)
    return campaign, user


async def view(store, campaign, user):
    return await handlers.get_progress(campaign.id, actor=user, store=store)


async def resolve_audience(store, clock, campaign, recipients, excluded):
    event = AudienceResolved(
        tenant_id=campaign.tenant_id,
        campaign_id=campaign.id,
        recipients=recipients,
        excluded=excluded,
    )
    await progress.on_audience_resolved(event, store=store, clock=clock)


def hit(model, campaign, **kw):
    return model(
        tenant_id=campaign.tenant_id,
        campaign_id=campaign.id,
        message_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        notify_user_id=uuid.uuid4(),
        **kw,
    )


async def test_audience_and_delivery_counters_make_the_progress(store, clock, sending):
    campaign, user = sending
    excluded = {"unsubscribed": 2, "bounced": 1, "missing_merge_value": 3}
    await resolve_audience(store, clock, campaign, 10, excluded)
    await progress.on_delivery_progress(
        DeliveryProgress(
            tenant_id=campaign.tenant_id, campaign_id=campaign.id, total=10, sent=4, bounced=1
        ),
        store=store,
        clock=clock,
    )
    state, counters = await view(store, campaign, user)
    assert state.state == "sending"
    assert (counters.total, counters.sent, counters.bounced) == (10, 4, 1)
    assert counters.excluded == excluded


async def test_the_latest_delivery_snapshot_wins_even_out_of_order(store, clock, sending):
    campaign, user = sending
    newer = DeliveryProgress(tenant_id=campaign.tenant_id, campaign_id=campaign.id, sent=7)
    older = DeliveryProgress(
        tenant_id=campaign.tenant_id,
        campaign_id=campaign.id,
        sent=3,
        occurred_at=newer.occurred_at - timedelta(seconds=5),
    )
    for event in (newer, older):
        await progress.on_delivery_progress(event, store=store, clock=clock)
    _, counters = await view(store, campaign, user)
    assert counters.sent == 7


@pytest.mark.parametrize("audience_first", [True, False])
async def test_the_campaign_is_sent_once_its_whole_audience_is_final(
    store, clock, sending, audience_first
):
    campaign, user = sending
    audience = AudienceResolved(tenant_id=campaign.tenant_id, campaign_id=campaign.id, recipients=3)
    report = DeliveryProgress(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, sent=1, failed=1, sequence=5
    )
    deferred = DeliveryProgress(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, sent=1, failed=1, deferred=1,
        sequence=4,
    )  # fmt: skip
    events = [audience, deferred, report] if audience_first else [deferred, report, audience]
    for event in events:
        handler = (
            progress.on_audience_resolved
            if isinstance(event, AudienceResolved)
            else progress.on_delivery_progress
        )
        await handler(event, store=store, clock=clock)
    state, counters = await view(store, campaign, user)
    assert state.state == "sending", "one of three is not final yet"
    final = DeliveryProgress(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, sent=2, failed=1, sequence=9
    )
    await progress.on_delivery_progress(final, store=store, clock=clock)
    state, counters = await view(store, campaign, user)
    assert state.state == "sent" and state.folder == "sent" and state.completed_at == clock.now()
    assert counters.completed and (counters.sent, counters.failed) == (2, 1)


async def test_the_higher_sequence_wins_whatever_the_order(store, clock, sending):
    campaign, user = sending
    newer = DeliveryProgress(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, sent=7, deferred=1, sequence=12
    )
    older = DeliveryProgress(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, sent=3, deferred=5, sequence=8
    )
    for event in (newer, older):
        await progress.on_delivery_progress(event, store=store, clock=clock)
    _, counters = await view(store, campaign, user)
    assert (counters.sent, counters.deferred) == (7, 1)


async def test_delivery_cannot_declare_a_campaign_sent_by_itself(store, clock, sending):
    campaign, user = sending
    claim = DeliveryProgress(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, total=1, sent=1, completed=True
    )
    await progress.on_delivery_progress(claim, store=store, clock=clock)
    state, _ = await view(store, campaign, user)
    assert state.state == "sending", "only the audience size decides"


async def test_an_empty_audience_completes_at_once(store, clock, sending):
    campaign, user = sending
    await resolve_audience(store, clock, campaign, 0, {"unsubscribed": 5})
    state, counters = await view(store, campaign, user)
    assert state.state == "sent" and counters.excluded == {"unsubscribed": 5}


async def test_opens_and_clicks_are_counted_once_per_event_machines_apart(store, clock, sending):
    campaign, user = sending
    opened = hit(Opened, campaign)
    for event in (opened, opened, hit(Opened, campaign), hit(Opened, campaign, machine=True)):
        await progress.on_opened(event, store=store)
    clicked = hit(Clicked, campaign, url="https://acme.example/")
    for event in (clicked, clicked):
        await progress.on_clicked(event, store=store)
    _, counters = await view(store, campaign, user)
    assert (counters.opens, counters.machine_opens, counters.clicks) == (2, 1, 1)


async def test_redelivered_progress_events_change_nothing(store, clock, sending):
    campaign, user = sending
    event = AudienceResolved(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, recipients=3, excluded={}
    )
    await progress.on_audience_resolved(event, store=store, clock=clock)
    later = AudienceResolved(
        tenant_id=campaign.tenant_id, campaign_id=campaign.id, recipients=9, excluded={}
    )
    await progress.on_audience_resolved(later, store=store, clock=clock)
    await progress.on_audience_resolved(event, store=store, clock=clock)
    _, counters = await view(store, campaign, user)
    assert counters.total == 9


async def test_events_of_another_tenant_do_not_touch_the_campaign(store, clock, sending):
    campaign, user = sending
    forged = uuid.uuid4()
    await progress.on_delivery_progress(
        DeliveryProgress(tenant_id=forged, campaign_id=campaign.id, sent=99, completed=True),
        store=store,
        clock=clock,
    )
    await progress.on_opened(
        Opened(
            tenant_id=forged,
            campaign_id=campaign.id,
            message_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            notify_user_id=uuid.uuid4(),
        ),
        store=store,
    )
    state, counters = await view(store, campaign, user)
    assert state.state == "sending" and (counters.sent, counters.opens) == (0, 0)
