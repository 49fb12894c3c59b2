"""The composer on real PostgreSQL and Kafka: release, outbox, progress, keys, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from composer import handlers
from composer.adapters.postgres import PostgresStore
from contracts import AudienceResolved, CampaignScheduled, DeliveryProgress, Opened, topics
from servicekit.db import open_pool
from testkit.kafka import publish, read_events
from testkit.waiting import eventually

BODY = {
    "subject": "Spring news for {{ full_name }}",
    "html_body": "<p>Hello {{ first_name }}</p>",
    "recipients": {"include_group_ids": [str(uuid.uuid4())]},
}


async def new_campaign(composer, headers, **overrides) -> str:
    response = await composer.http.post("/v1/campaigns", json=BODY | overrides, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_send_now_reaches_kafka_through_the_outbox(composer, stack, kafka_namespace):
    headers, admin_id = await composer.tenant()
    cid = await new_campaign(composer, headers, footer_enabled=False)
    sent = await composer.http.post(f"/v1/campaigns/{cid}/send", headers=headers)
    assert sent.status_code == 200 and sent.json()["state"] == "sending"
    events = await read_events(
        stack.kafka,
        kafka_namespace + topics.CAMPAIGN_SCHEDULED,
        until=lambda es: any(str(e.campaign_id) == cid for e in es),
    )
    [event] = [e for e in events if str(e.campaign_id) == cid]
    assert isinstance(event, CampaignScheduled)
    assert str(event.notify_user_id) == admin_id and str(event.operator.user_id) == admin_id
    assert event.footer.enabled is False and str(event.footer.disabled_by_user_id) == admin_id
    assert event.footer.company_name == "Acme KK"
    assert [str(s.user_id) for s in event.staff] == [admin_id]

    async def marked() -> None:
        pending = await composer.ports.database.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        assert pending == 0

    await eventually(marked, within=5)


async def test_the_scheduler_releases_a_campaign_at_its_time(composer, stack, kafka_namespace):
    headers, _ = await composer.tenant()
    cid = await new_campaign(composer, headers)
    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    scheduled = await composer.http.post(
        f"/v1/campaigns/{cid}/schedule", json={"send_at": at}, headers=headers
    )
    assert scheduled.json()["state"] == "scheduled"

    async def released() -> None:
        state = (await composer.http.get(f"/v1/campaigns/{cid}", headers=headers)).json()
        assert state["state"] == "sending"

    await eventually(released, within=15)
    events = await read_events(
        stack.kafka,
        kafka_namespace + topics.CAMPAIGN_SCHEDULED,
        until=lambda es: any(str(e.campaign_id) == cid for e in es),
    )
    [event] = [e for e in events if str(e.campaign_id) == cid]
    assert event.scheduled_for is not None and event.scheduled_for.isoformat()[:19] == at[:19]


async def test_progress_follows_the_events_and_completion(composer, stack, kafka_namespace):
    headers, _ = await composer.tenant()
    cid = await new_campaign(composer, headers)
    await composer.http.post(f"/v1/campaigns/{cid}/send", headers=headers)
    tenant_id = uuid.UUID((await composer.http.get("/v1/tenant", headers=headers)).json()["id"])
    campaign_id = uuid.UUID(cid)
    opened = Opened(
        tenant_id=tenant_id,
        campaign_id=campaign_id,
        message_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        notify_user_id=uuid.uuid4(),
    )
    await publish(
        stack.kafka,
        kafka_namespace,
        [
            AudienceResolved(
                tenant_id=tenant_id,
                campaign_id=campaign_id,
                recipients=3,
                excluded={"unsubscribed": 1, "bounced": 1},
            ),
            opened,
            opened,  # a redelivery
            DeliveryProgress(
                tenant_id=tenant_id,
                campaign_id=campaign_id,
                total=3,
                sent=2,
                bounced=1,
                completed=True,
            ),
        ],
    )

    async def done() -> None:
        progress = (
            await composer.http.get(f"/v1/campaigns/{cid}/progress", headers=headers)
        ).json()
        assert progress["state"] == "sent"
        assert (progress["total"], progress["sent"], progress["bounced"]) == (3, 2, 1)
        assert progress["excluded"] == {"unsubscribed": 1, "bounced": 1}
        assert progress["excluded_total"] == 2 and progress["opens"] == 1

    await eventually(done, within=30)
    sent_folder = (await composer.http.get("/v1/campaigns?folder=sent", headers=headers)).json()
    assert [c["id"] for c in sent_folder["items"]] == [cid]


async def test_two_releasers_never_release_the_same_campaign(composer):
    headers, _ = await composer.tenant()
    ids = []
    for i in range(30):
        cid = await new_campaign(composer, headers)
        at = (datetime.now(UTC) + timedelta(hours=1, seconds=i)).isoformat()
        await composer.http.post(
            f"/v1/campaigns/{cid}/schedule", json={"send_at": at}, headers=headers
        )
        ids.append(uuid.UUID(cid))

    class Later:
        def now(self) -> datetime:
            return datetime.now(UTC) + timedelta(hours=2)

    settings = composer.settings
    pools = [await open_pool(settings.database_url, settings.database_schema) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(
                handlers.release_due(store=PostgresStore(pool), clock=Later(), limit=3)
                for pool in pools * 10
            )
        )
    finally:
        for pool in pools:
            await pool.close()
    released = [cid for result in results for cid in result]
    assert sorted(released) == sorted(ids), "each exactly once"
    outboxed = await composer.ports.database.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE topic = $1", topics.CAMPAIGN_SCHEDULED
    )
    assert outboxed == 30


async def test_keys_verify_against_postgres_and_revocation_takes_effect(composer):
    headers, admin_id = await composer.tenant()
    created = await composer.http.post(
        "/v1/users",
        json={"name": "Mo Manager", "email": "mo@acme.example", "role": "manager"},
        headers=headers,
    )
    assert created.status_code == 201
    key = created.json()["api_key"]
    mo = {"Authorization": f"Bearer {key}"}
    who = await composer.http.post("/v1/auth/introspect", headers=mo)
    assert who.json()["role"] == "manager" and who.json()["user_id"] == created.json()["id"]
    stored = await composer.ports.database.pool.fetchval(
        "SELECT secret_hash FROM api_keys WHERE key_id = $1", created.json()["key_id"]
    )
    assert key.split("_", 2)[2] not in stored
    revoked = await composer.http.delete(f"/v1/keys/{created.json()['key_id']}", headers=headers)
    assert revoked.status_code == 204
    assert (await composer.http.post("/v1/auth/introspect", headers=mo)).status_code == 401
    assert (await composer.http.get("/v1/me", headers=headers)).json()["id"] == admin_id


async def test_bootstrap_command_prints_a_working_key(composer, stack):
    env = os.environ | {
        "DATABASE_URL": stack.database_url,
        "DATABASE_SCHEMA": composer.settings.database_schema,
        "SIGNING_KEYS_SECRET": composer.settings.signing_keys_secret.get_secret_value(),
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "composer",
            "bootstrap",
            "--company",
            "Beta GK",
            "--address",
            "2-2 Osaka",
            "--contact",
            "06-0000-0000",
            "--time-zone",
            "Asia/Tokyo",
            "--admin-name",
            "Beta Admin",
            "--admin-email",
            "admin@beta.example",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    created = json.loads(done.stdout)
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    tenant = (await composer.http.get("/v1/tenant", headers=headers)).json()
    assert tenant["id"] == created["tenant_id"] and tenant["company_name"] == "Beta GK"


async def test_folders_page_through_every_campaign_once(composer):
    headers, _ = await composer.tenant()
    drafts = [await new_campaign(composer, headers) for _ in range(5)]
    scheduled = []
    for i in range(3):
        cid = await new_campaign(composer, headers)
        at = (datetime.now(UTC) + timedelta(days=3 - i)).isoformat()
        await composer.http.post(
            f"/v1/campaigns/{cid}/schedule", json={"send_at": at}, headers=headers
        )
        scheduled.append(cid)

    async def pages(folder: str) -> list[list[str]]:
        out, cursor = [], None
        while True:
            params = {"folder": folder, "limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await composer.http.get("/v1/campaigns", params=params, headers=headers)).json()
            out.append([c["id"] for c in page["items"]])
            cursor = page["next_cursor"]
            if not cursor:
                return out

    draft_pages = await pages("drafts")
    assert [len(p) for p in draft_pages] == [2, 2, 1]
    assert [c for p in draft_pages for c in p] == drafts[::-1], "most recently changed first"
    schedule_pages = await pages("scheduled")
    assert [c for p in schedule_pages for c in p] == scheduled[::-1], "next due first"
