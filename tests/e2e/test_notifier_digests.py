"""The running notifier (`make up`): events from the bus in, one digest mail per user out.

A fresh tenant's campaign snapshot, message directory and opens/clicks go onto the real
topics; the operator endpoint closes that tenant's period; the digest arrives in the dev
SMTP sink and `DigestSent` on `digest.sent`. The campaign has no recipients, so the other
services only see an empty audience.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from contracts import (
    Address,
    CampaignScheduled,
    Clicked,
    DigestSent,
    MessageSent,
    Opened,
    RecipientSpec,
    StaffMember,
    TrackingSettings,
    decode,
    topics,
)
from testkit.kafka import publish

NOTIFIER = os.environ.get("NOTIFIER_URL", "http://127.0.0.1:8005")


async def notifier_up() -> None:
    async with httpx.AsyncClient(base_url=NOTIFIER, timeout=5) as http:
        try:
            (await http.get("/healthz")).raise_for_status()
        except httpx.HTTPError as exc:
            pytest.fail(f"notifier is not running at {NOTIFIER} ({exc!r}): run `make up`")


async def digest_sent_tail(bootstrap: str) -> tuple[AIOKafkaConsumer, TopicPartition]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    partition = TopicPartition(topics.DIGEST_SENT, 0)
    consumer.assign([partition])
    await consumer.seek_to_end(partition)
    await consumer.position(partition)
    return consumer, partition


async def stats(tenant_id: uuid.UUID) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=NOTIFIER, timeout=10) as http:
        response = await http.get("/v1/admin/digests/stats", params={"tenant_id": str(tenant_id)})
        response.raise_for_status()
        return dict(response.json())


async def test_opens_and_clicks_become_one_digest_per_user(stack) -> None:
    await notifier_up()
    tenant, campaign = uuid.uuid4(), uuid.uuid4()
    tag = uuid.uuid4().hex[:8]
    owner = StaffMember(user_id=uuid.uuid4(), name="営業 一郎", email=f"owner-{tag}@e2e.example")
    sender = StaffMember(user_id=uuid.uuid4(), name="送信 花子", email=f"sender-{tag}@e2e.example")
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    message, other = uuid.uuid4(), uuid.uuid4()
    events = [
        CampaignScheduled(
            tenant_id=tenant,
            campaign_id=campaign,
            subject="E2E 通知テスト",
            recipients=RecipientSpec(),
            sender=Address(name=sender.name, email=sender.email),
            operator=sender,
            notify_user_id=sender.user_id,
            staff=[sender, owner],
            time_zone="UTC",
            tracking=TrackingSettings(),
        ),
        *(
            MessageSent(
                tenant_id=tenant,
                campaign_id=campaign,
                message_id=m,
                customer_id=m,
                email=f"customer-{m.hex[:6]}@e2e.example",
                name="顧客 様",
                notify_user_id=user.user_id,
            )
            for m, user in ((message, sender), (other, owner))
        ),
    ]
    hit = {"tenant_id": tenant, "campaign_id": campaign}
    hits = [
        Opened(
            **hit,
            message_id=message,
            customer_id=message,
            notify_user_id=sender.user_id,
            occurred_at=day + timedelta(hours=9),
        ),
        Opened(
            **hit,
            message_id=message,
            customer_id=message,
            notify_user_id=sender.user_id,
            occurred_at=day + timedelta(hours=9, minutes=30),
        ),  # within the hour
        Opened(
            **hit,
            message_id=other,
            customer_id=other,
            notify_user_id=owner.user_id,
            occurred_at=day + timedelta(hours=10),
            machine=True,
        ),
        Clicked(
            **hit,
            message_id=other,
            customer_id=other,
            notify_user_id=owner.user_id,
            occurred_at=day + timedelta(hours=10, minutes=5),
            url="https://e2e.example/",
        ),
    ]
    consumer, partition = await digest_sent_tail(stack.kafka)
    try:
        await publish(stack.kafka, "", events)
        await asyncio.sleep(1.0)  # the snapshot first, so no hit waits for its campaign
        await publish(stack.kafka, "", hits)

        deadline = time.monotonic() + 60
        while (counts := await stats(tenant))["clicks"] < 1 or counts["first_opens"] < 1:
            assert time.monotonic() < deadline, f"notifier did not record the hits: {counts}"
            await asyncio.sleep(0.5)
        assert counts["suppressed_reopens"] == 1 and counts["machine_events"] == 1

        async with httpx.AsyncClient(base_url=NOTIFIER, timeout=120) as http:
            response = await http.post(
                "/v1/admin/close-periods",
                json={"as_of": (day + timedelta(days=1)).isoformat(), "tenant_id": str(tenant)},
            )
        assert response.status_code == 200, response.text
        assert response.json()["sent"] == 2

        sink = os.environ.get("SINK_API_URL", stack.sink_api)
        async with httpx.AsyncClient(base_url=sink, timeout=10) as http:
            for user in (sender, owner):
                listed = (await http.get("/messages", params={"to": user.email})).json()
                assert len(listed) == 1, user.email
                raw = (await http.get(f"/messages/{listed[0]['id']}/raw")).content
                mail = email.message_from_bytes(raw, policy=email.policy.default)
                assert "開封・クリック通知" in str(mail["Subject"])

        seen: list[DigestSent] = []
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            batch = await consumer.getmany(partition, timeout_ms=500)
            for record in batch.get(partition, []):
                event = decode(record.value, DigestSent)
                if event.tenant_id == tenant:
                    seen.append(event)
        assert sorted((e.first_opens, e.clicks) for e in seen) == [(0, 1), (1, 0)]
        assert (await stats(tenant))["digests_sent"] == 2
    finally:
        await consumer.stop()
