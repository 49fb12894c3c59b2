"""Reports that come back to a mail's return path, on the running stack: a DSN bounces the
address the message went to and nothing else it names; a feedback-loop complaint keeps the
address out; campaign progress counts the bounce once (SPEC §4, §9, §11)."""

from __future__ import annotations

import os
import uuid

import aiosmtplib
import pytest

import testkit.platform as h
from servicekit.tokens import TokenCodec
from testkit import sink
from testkit.waiting import until

DSN = """\
From: MAILER-DAEMON@mx.example.net
To: {rcpt}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

The mail could not be delivered.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {email}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown
{forged}
--b--
"""

FORGED_BLOCK = """
Final-Recipient: rfc822; {email}
Action: failed
Status: 5.1.1
"""

ARF = """\
From: fbl@isp.example.net
To: {rcpt}
Subject: Complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="f"

--f
Content-Type: text/plain

An abuse report.

--f
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
Original-Rcpt-To: <{email}>

--f--
"""


@pytest.fixture(scope="module")
async def tenant() -> h.Tenant:
    return await h.new_tenant("E2E 返送 株式会社")


async def report(return_path: str, text: str) -> None:
    port = int(os.environ.get("BOUNCE_SMTP_PORT", "2626"))
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
        # Reports come from the null reverse-path (MAIL FROM:<>).
        await smtp.sendmail("", [return_path], text.replace("\n", "\r\n").encode())


async def suppressed(tenant: h.Tenant, address: str) -> set[str]:
    page = await tenant.admin.recipients.call(
        "GET", "/v1/suppressions", params={"address": address}
    )
    return {entry["reason"] for entry in page["items"]}


def row(tenant: h.Tenant, local: str) -> dict[str, str]:
    return {"email": tenant.address(local), "last_name": "鈴木", "first_name": "一郎"}


async def test_a_dsn_bounces_only_the_address_its_message_went_to(tenant):
    people = tenant.admin.recipients
    gone, bystander = await h.add_customers(
        people, [row(tenant, "later-gone"), row(tenant, "bystander")]
    )
    sent = await h.send_now(tenant.admin.composer, [gone], name="DSN 後日")
    assert (sent.progress["sent"], sent.progress["bounced"]) == (1, 0)
    [mail] = await sink.mail_to(gone.email, campaign_id=sent.id)
    return_path = mail.summary["mail_from"]
    forged = FORGED_BLOCK.format(email=bystander.email)

    await report(return_path, DSN.format(rcpt=return_path, email=gone.email, forged=forged))
    await until(
        lambda: h.get_customer(people, gone.id),
        h.is_bounced,
        within=30,
        what=f"{gone.email} registered as bounced by the DSN",
    )
    progress = await until(
        lambda: h.progress(tenant.admin.composer, sent.id),
        lambda p: p["bounced"] == 1,
        within=30,
        what="the DSN's bounce in campaign progress",
    )
    assert progress["sent"] == 0, progress
    # The same report again, and the forged block: nothing more.
    await report(return_path, DSN.format(rcpt=return_path, email=gone.email, forged=forged))
    assert not h.is_bounced(await h.get_customer(people, bystander.id))
    assert await suppressed(tenant, bystander.email) == set()
    assert (await h.progress(tenant.admin.composer, sent.id))["bounced"] == 1


async def test_a_dsn_for_a_message_never_sent_changes_nothing(tenant, stack):
    people = tenant.admin.recipients
    [victim] = await h.add_customers(people, [row(tenant, "victim")])
    codec = TokenCodec.from_secret(stack.token_secret)
    forged_path = f"{codec.sign_bounce(uuid.UUID(tenant.id), uuid.uuid4())}@b.example"
    await report(forged_path, DSN.format(rcpt=forged_path, email=victim.email, forged=""))
    [probe] = await h.add_customers(people, [row(tenant, "later-probe")])
    # Give the report time to travel: a campaign sent after it went through every service.
    await h.send_now(tenant.admin.composer, [probe], name="DSN 偽造の後")
    assert not h.is_bounced(await h.get_customer(people, victim.id))


async def test_a_complaint_keeps_the_address_out_of_the_next_campaign(tenant):
    people = tenant.admin.recipients
    angry, calm = await h.add_customers(people, [row(tenant, "angry"), row(tenant, "calm")])
    first = await h.send_now(tenant.admin.composer, [angry, calm], name="苦情 1回目")
    [mail] = await sink.mail_to(angry.email, campaign_id=first.id)
    return_path = mail.summary["mail_from"]
    await report(return_path, ARF.format(rcpt=return_path, email=angry.email))
    await until(
        lambda: suppressed(tenant, angry.email),
        lambda reasons: "complained" in reasons,
        within=30,
        what=f"{angry.email} kept out after its complaint",
    )
    second = await h.send_now(tenant.admin.composer, [angry, calm], name="苦情 2回目")
    assert second.progress["excluded"].get("complained") == 1, second.progress
    assert await sink.mail_to(angry.email, campaign_id=second.id) == []
