"""The audience resolution handler against in-memory ports: publishing, checkpoints, resume."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import recipients_tests_fakes as fakes

from contracts import AudienceResolved, RecipientResolved, decode
from recipients.domain import Checkpoint
from recipients.handlers import AudienceStream, Pace, resolve_audience


def ports(rows: list[Any], **sink: Any) -> dict[str, Any]:
    return {
        "audience": fakes.FakeAudience(rows),
        "resolutions": fakes.FakeResolutions(),
        "sink": fakes.FakeSink(**sink),
        "publisher": fakes.FakePublisher(),
        "clock": fakes.FixedClock(),
        "pace": Pace(batch_size=10, max_in_flight=2),
    }


def message_ids(sink: fakes.FakeSink) -> list[str]:
    return [str(decode(value, RecipientResolved).message_id) for _, value in sink.acknowledged]


async def test_every_recipient_is_published_once_then_the_summary() -> None:
    rows = fakes.candidates(95, every_nth_excluded=7)
    p = ports(rows)
    event = fakes.campaign()

    summary = await resolve_audience(event, AudienceStream(**p))

    recipients = [r for r in rows if r[1] is None]
    assert summary is not None and p["publisher"].published == [summary]
    assert isinstance(summary, AudienceResolved) and summary.campaign_id == event.campaign_id
    assert summary.recipients == len(recipients) == len(set(message_ids(p["sink"])))
    assert summary.excluded == {
        "excluded_customer": 0,
        "excluded_group": 0,
        "unsubscribed": len(rows) - len(recipients),
        "complained": 0,
        "bounced": 0,
        "missing_merge_value": 0,
    }
    customers = [str(decode(v, RecipientResolved).customer_id) for _, v in p["sink"].acknowledged]
    assert customers == [r[0] for r in recipients]


async def test_an_empty_audience_still_gets_its_summary() -> None:
    p = ports([])
    summary = await resolve_audience(fakes.campaign(), AudienceStream(**p))
    assert summary is not None and summary.recipients == 0
    assert p["publisher"].published == [summary]


async def test_a_resolved_campaign_is_not_resolved_again() -> None:
    p = ports(fakes.candidates(30))
    event = fakes.campaign()
    await resolve_audience(event, AudienceStream(**p))
    published = list(p["sink"].acknowledged)

    again = await resolve_audience(event, AudienceStream(**p))

    assert again is None
    assert p["sink"].acknowledged == published and len(p["publisher"].published) == 1


async def test_the_checkpoint_waits_for_kafka_to_acknowledge() -> None:
    p = ports(fakes.candidates(50), hold=True)
    event = fakes.campaign()
    task = asyncio.create_task(resolve_audience(event, AudienceStream(**p)))
    while p["sink"].calls < 3:  # max_in_flight=2: the third batch waits for the first ack
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert p["resolutions"].saves == [] and not task.done()

    p["sink"].hold = False
    p["sink"].release()
    summary = await task

    assert summary is not None and summary.recipients == 50
    saved = p["resolutions"].saves
    assert [c.published for c in saved] == [10, 20, 30, 40, 50]


async def test_a_failure_resumes_after_the_last_acknowledged_batch_with_the_same_ids() -> None:
    rows = fakes.candidates(100, every_nth_excluded=9)
    p = ports(rows, fail_after=4)
    event = fakes.campaign()

    with pytest.raises(fakes.SinkFailure):
        await resolve_audience(event, AudienceStream(**p))

    checkpoint: Checkpoint = p["resolutions"].checkpoints[event.campaign_id]
    assert checkpoint.last_customer_id == rows[39][0] and not checkpoint.completed
    first_run = message_ids(p["sink"])
    assert len(first_run) == checkpoint.published

    p["sink"].fail_after = None
    served_before = p["audience"].batches_served
    summary = await resolve_audience(event, AudienceStream(**p))

    all_ids = message_ids(p["sink"])
    recipients = [r for r in rows if r[1] is None]
    assert summary is not None and summary.recipients == len(recipients)
    assert len(all_ids) == len(set(all_ids)) == len(recipients)
    assert summary.excluded["unsubscribed"] == len(rows) - len(recipients)
    # The second run started at the checkpoint: 60 customers left, in batches of 10.
    assert p["audience"].batches_served - served_before == 6


async def test_replayed_summaries_share_one_event_id() -> None:
    event = fakes.campaign()
    first, second = ports(fakes.candidates(5)), ports(fakes.candidates(5))
    a = await resolve_audience(event, AudienceStream(**first))
    b = await resolve_audience(event, AudienceStream(**second))
    assert a is not None and b is not None and a.event_id == b.event_id
