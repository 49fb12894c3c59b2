"""A re-open within the hour is counted but not notified (SPEC §5.3): the pixel of one caught
mail fetched twice gives one first open in the digest, the second open only in the counts."""

from __future__ import annotations

import pytest

import testkit.platform as h
from testkit import sink
from testkit.waiting import until


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant("E2E 再開封 株式会社")


async def test_a_reopen_within_the_hour_is_counted_but_notified_once(tenant):
    api = tenant.admin.composer
    [reader] = await h.add_customers(
        tenant.admin.recipients,
        [{"email": tenant.address("reader"), "last_name": "読者", "first_name": "一"}],
    )
    sent = await h.send_now(api, [reader], name="再開封")
    [mail] = await sink.mail_to(reader.email, campaign_id=sent.id)
    pixel = mail.pixel_url()
    assert pixel, "no open pixel in the mail"
    for _ in range(2):
        response = await sink.follow(pixel)
        assert response.status_code == 200 and response.headers["content-type"] == "image/gif"

    stats = await until(
        lambda: h.digest_stats(tenant),
        lambda s: s["first_opens"] + s["suppressed_reopens"] >= 2,
        within=30,
        what="notifier classified both opens",
    )
    assert (stats["first_opens"], stats["suppressed_reopens"], stats["reopens"]) == (1, 1, 0)
    # Counted all the same: the campaign's progress sees both opens.
    await until(
        lambda: h.progress(api, sent.id),
        lambda p: p["opens"] == 2,
        within=30,
        what="both opens in the campaign's progress",
    )

    await h.close_periods(tenant.id)
    digests = await until(
        lambda: sink.mail_to(tenant.admin.email),
        bool,
        within=30,
        what=f"digest to {tenant.admin.email}",
    )
    assert len(digests) == 1, [d.summary["subject"] for d in digests]
    text = digests[0].text()
    assert "初回開封 1 件 / 再開封 0 件" in text, text
    assert text.count(reader.email) == 1, text
