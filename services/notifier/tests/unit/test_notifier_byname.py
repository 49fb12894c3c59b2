"""Domain dataclasses filled by field name from rows and events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from notifier_tests_support import Scenario

from contracts import Timing
from notifier.domain import CampaignInfo, DigestLine, HitKind
from notifier.ports import UnscheduledHit
from servicekit.byname import from_attributes, from_row

AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def test_a_row_fills_fields_by_column_name_and_enum_fields_get_their_members() -> None:
    row = {"kind": "click", "occurred_at": AT, "customer_id": uuid.uuid4(), "email": None}
    line = from_row(DigestLine, {**row, "name": "山田 太郎", "total": 3})
    assert line.kind is HitKind.CLICK and line.email is None and line.name == "山田 太郎"
    assert line.url is None, "a field with a default may have no column"


def test_given_values_win_over_columns() -> None:
    event = Scenario().scheduled()
    campaign = from_attributes(CampaignInfo, event, event.tracking, released_at=AT)
    row = {"event_id": uuid.uuid4(), "kind": "reopen", "occurred_at": AT, "campaign": None}
    hit = from_row(UnscheduledHit, row, campaign=campaign)
    assert hit.campaign is campaign and hit.kind is HitKind.REOPEN and hit.period_end is None


def test_attributes_come_from_the_first_source_that_has_them() -> None:
    scenario = Scenario(first_open=Timing.HOURLY, click=Timing.NONE)
    event = scenario.scheduled(at=AT)
    campaign = from_attributes(CampaignInfo, event, event.tracking, released_at=event.occurred_at)
    assert (campaign.campaign_id, campaign.name, campaign.time_zone) == (
        scenario.campaign_id,
        "冬のセール",
        "Asia/Tokyo",
    )
    assert (campaign.first_open_timing, campaign.click_timing) == (Timing.HOURLY, Timing.NONE)
    assert campaign.released_at == AT


def test_a_field_without_a_default_must_be_found() -> None:
    with pytest.raises(TypeError, match="DigestLine: no value for customer_id"):
        from_row(DigestLine, {"kind": "click", "occurred_at": AT, "email": None, "name": None})
