"""The pure parts: composition in the session, the calendar, reasons in the page's language."""

from __future__ import annotations

from datetime import date

import pytest

from console import calendar_view, composing, i18n
from console.rendering import reason


def test_groups_are_limited_to_fifteen_across_send_and_do_not_send() -> None:
    work = composing.new_work()
    for n in range(14):
        composing.choose(work, "group:include", f"g{n}", f"group {n}")
    composing.choose(work, "group:exclude", "out", "out")
    assert composing.group_count(work["content"]) == 15
    with pytest.raises(composing.LimitReached):
        composing.choose(work, "group:include", "one more")
    # Moving a chosen group from send to do-not-send is no new group.
    composing.choose(work, "group:exclude", "g0")
    spec = work["content"]["recipients"]
    assert "g0" in spec["exclude_group_ids"] and "g0" not in spec["include_group_ids"]
    composing.choose(work, "group:remove", "g1")
    composing.choose(work, "group:include", "one more")
    assert composing.group_count(work["content"]) == 15


def test_customers_are_sent_to_or_left_out_one_by_one() -> None:
    work = composing.new_work()
    composing.choose(work, "customer:include", "c1", "a@example.com")
    composing.choose(work, "customer:exclude", "c1")
    spec = work["content"]["recipients"]
    assert spec["customer_ids"] == [] and spec["excluded_customer_ids"] == ["c1"]
    assert work["labels"]["c1"] == "a@example.com"
    with pytest.raises(ValueError):
        composing.choose(work, "anything:include", "x")


def test_the_form_and_the_sender_fill_the_content() -> None:
    work = composing.new_work()
    content = work["content"]
    composing.take_form(
        content,
        {"subject": "Hi", "text_body": "T", "track_opens": "on", "click_timing": "weekly",
         "first_open_timing": "every second"},
    )  # fmt: skip
    assert content["footer_enabled"] is False  # an unchecked box is absent from the form
    assert content["tracking"]["track_opens"] and not content["tracking"]["track_clicks"]
    assert content["tracking"]["click_timing"] == "weekly"
    assert content["tracking"]["first_open_timing"] == "daily"
    composing.take_sender(content, "registered:r1", send_as_owner=True)
    assert content["sender_mode"] == "on_behalf_registered"
    assert composing.sender_choice(content) == "registered:r1"
    body = composing.for_api(content)
    assert body["html_body"] is None and body["text_body"] == "T"


def test_a_draft_from_the_composer_becomes_a_work_item() -> None:
    stored = {"id": "c1", "subject": "S", "html_body": None, "state": "draft",
              "recipients": {"customer_ids": ["x"], "include_group_ids": [],
                             "exclude_group_ids": [], "excluded_customer_ids": []}}  # fmt: skip
    work = composing.new_work(stored)
    assert work["campaign_id"] == "c1" and work["content"]["html_body"] == ""
    assert "state" not in work["content"]


def test_the_calendar_puts_campaigns_on_their_local_day() -> None:
    month = calendar_view.month_of("2030-03", date(2030, 1, 5))
    weeks = calendar_view.weeks(
        month, [{"id": "a", "scheduled_for": "2030-03-31T15:30:00Z"}], "Asia/Tokyo"
    )
    days = {d.day: d for week in weeks for d in week}
    assert days[date(2030, 4, 1)].campaigns[0]["local_time"] == "00:30"
    assert weeks[0][0].day.weekday() == 6  # weeks start on Sunday
    assert calendar_view.month_of("nonsense", date(2030, 1, 5)) == date(2030, 1, 1)
    assert calendar_view.shift(date(2030, 12, 1), 1) == date(2031, 1, 1)


def test_api_reasons_are_translated_numbers_kept() -> None:
    i18n.activate("ja")
    assert reason("is required") == "必須項目です"
    assert "15個まで" in reason("at most 15 groups across include and exclude, got 16")
    assert reason("something new") == "something new"
    i18n.activate("en")
    assert reason("is required") == "is required"
