"""A DSN sent to the running service's bounce intake (127.0.0.1:2626, VERP return path)
becomes a Bounced event on the real topic."""

from __future__ import annotations

import os
import time
import uuid

import aiosmtplib
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import Bounced, BounceKind, decode
from contracts.topics import TOPICS
from servicekit.tokens import TokenCodec

REPORT = """\
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

--b--
"""


async def test_dsn_for_a_verp_address_becomes_a_hard_bounce(stack):
    codec = TokenCodec.from_secret(stack.token_secret)
    tenant, message = uuid.uuid4(), uuid.uuid4()
    rcpt = f"{codec.sign_bounce(tenant, message)}@bounces.example.com"
    email = f"gone-{message.hex[:8]}@example.org"
    topic = Bounced.topic
    tps = [
        TopicPartition(topic, p)
        for p in range(next(t.partitions for t in TOPICS if t.name == topic))
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka, enable_auto_commit=False)
    consumer.assign(tps)
    await consumer.start()
    try:
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        port = int(os.environ.get("BOUNCE_SMTP_PORT", "2626"))
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
            # A DSN comes from the null reverse-path (MAIL FROM:<>).
            await smtp.sendmail("", [rcpt], REPORT.format(rcpt=rcpt, email=email).encode())
        deadline, found = time.monotonic() + 20, None
        while found is None and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = decode(record.value, Bounced)
                    if event.message_id == message:
                        found = event
    finally:
        await consumer.stop()
    assert found is not None, "no Bounced for the DSN"
    assert (found.tenant_id, found.email, found.kind, found.source) == (
        tenant,
        email,
        BounceKind.HARD,
        "dsn",
    )
