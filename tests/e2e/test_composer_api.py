"""The running composer (`make up`), through its HTTP API, its operator command and Kafka."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from contracts import CampaignScheduled, decode_any, topics
from testkit.platform import new_tenant

COMPOSER = os.environ.get("COMPOSER_URL", "http://127.0.0.1:8001")


@pytest.fixture(scope="module")
async def admin() -> dict[str, str]:
    async with httpx.AsyncClient(base_url=COMPOSER, timeout=5) as http:
        try:
            (await http.get("/healthz")).raise_for_status()
        except httpx.HTTPError as exc:
            pytest.fail(f"composer is not running at {COMPOSER} ({exc!r}): run `make up`")
    # Through the operator command; the admin's sending domain is verified before anything
    # is sent.
    tenant = await new_tenant("E2E KK")
    return {"Authorization": f"Bearer {tenant.admin.composer.key}"}


async def test_a_scheduled_campaign_is_released_once_and_a_cancelled_one_never(admin, stack):
    consumer = AIOKafkaConsumer(
        topics.CAMPAIGN_SCHEDULED, bootstrap_servers=stack.kafka, group_id=None
    )
    await consumer.start()
    try:
        await consumer.seek_to_end()
        async with httpx.AsyncClient(base_url=COMPOSER, headers=admin, timeout=10) as http:
            body = {
                "subject": "E2E {{ full_name }}",
                "text_body": "Hello {{ first_name }}",
                "recipients": {"customer_ids": [str(uuid.uuid4())]},
            }
            kept = (await http.post("/v1/campaigns", json=body)).json()["id"]
            dropped = (await http.post("/v1/campaigns", json=body)).json()["id"]
            soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
            later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            for cid, at in ((kept, soon), (dropped, later)):
                response = await http.post(f"/v1/campaigns/{cid}/schedule", json={"send_at": at})
                assert response.status_code == 200, response.text
            cancelled = await http.post(f"/v1/campaigns/{dropped}/cancel")
            assert cancelled.json()["folder"] == "drafts"

            seen: list[CampaignScheduled] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(str(e.campaign_id) == kept for e in seen):
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        event = decode_any(record.value or b"")
                        if isinstance(event, CampaignScheduled):
                            seen.append(event)
            ids = [str(e.campaign_id) for e in seen]
            # A relay retry may put the same event on the wire twice; never two releases.
            assert len({e.event_id for e in seen if str(e.campaign_id) == kept}) == 1
            assert dropped not in ids
            state = (await http.get(f"/v1/campaigns/{kept}")).json()["state"]
            assert state in ("sending", "sent")
            late = await http.post(f"/v1/campaigns/{kept}/cancel")
            assert late.status_code == 409
    finally:
        await consumer.stop()


async def test_other_services_can_verify_keys_through_introspection(admin):
    async with httpx.AsyncClient(base_url=COMPOSER, timeout=5) as http:
        me = await http.post("/v1/auth/introspect", headers=admin)
        assert me.status_code == 200 and me.json()["role"] == "admin"
        forged = {"Authorization": admin["Authorization"][:-4] + "AAAA"}
        assert (await http.post("/v1/auth/introspect", headers=forged)).status_code == 401
