"""Cancel vs release, fired at the same instant, many times: exactly one wins, and a
successful cancel means no CampaignScheduled for that campaign ever reaches Kafka."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

from composer import handlers
from composer.adapters.postgres import PostgresStore
from contracts import topics
from servicekit.db import open_pool
from testkit.kafka import read_events

ROUNDS = 200


class At:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def now(self) -> datetime:
        return self.when


async def jitter(up_to: float) -> None:
    # Either side may reach PostgreSQL first; both orders must be exercised. The cancel goes
    # through the whole HTTP stack, so the release waits a little longer on average.
    await asyncio.sleep(random.uniform(0, up_to))


async def test_cancel_and_release_race_has_exactly_one_winner(composer, stack, kafka_namespace):
    headers, _ = await composer.tenant()
    start = datetime.now(UTC) + timedelta(hours=1)
    campaigns: list[tuple[str, datetime]] = []
    for i in range(ROUNDS):
        created = await composer.http.post(
            "/v1/campaigns",
            json={
                "subject": f"Race {i}",
                "text_body": "Hello",
                "recipients": {"customer_ids": [str(uuid.uuid4())]},
            },
            headers=headers,
        )
        cid = created.json()["id"]
        due = start + timedelta(seconds=i)
        scheduled = await composer.http.post(
            f"/v1/campaigns/{cid}/schedule", json={"send_at": due.isoformat()}, headers=headers
        )
        assert scheduled.status_code == 200, scheduled.text
        campaigns.append((cid, due))

    # A second instance: its own pool, releasing through the scheduler's own handler.
    settings = composer.settings
    pool = await open_pool(settings.database_url, settings.database_schema)
    releaser = PostgresStore(pool)

    async def cancel(cid: str) -> int:
        await jitter(0.002)
        response = await composer.http.post(f"/v1/campaigns/{cid}/cancel", headers=headers)
        return response.status_code

    async def release(due: datetime) -> list[uuid.UUID]:
        await jitter(0.012)
        return await handlers.release_due(store=releaser, clock=At(due))

    cancelled: set[str] = set()
    released: set[str] = set()
    try:
        for cid, due in campaigns:
            status, ids = await asyncio.gather(cancel(cid), release(due))
            won_release = [str(x) for x in ids] == [cid]
            assert (status, won_release) in ((200, False), (409, True)), (cid, status, ids)
            (cancelled if status == 200 else released).add(cid)
    finally:
        await pool.close()
    print(f"race: {len(cancelled)} cancels won, {len(released)} releases won")
    assert cancelled and released, "both orders must have happened for the test to mean much"

    events = await read_events(
        stack.kafka,
        kafka_namespace + topics.CAMPAIGN_SCHEDULED,
        until=lambda es: {str(e.campaign_id) for e in es} >= released,
        wait=45,
        linger=1.0,
    )
    on_kafka = {str(e.campaign_id) for e in events}
    assert on_kafka == released
    assert not on_kafka & cancelled
    states = dict(await composer.ports.database.pool.fetch("SELECT id::text, state FROM campaigns"))
    assert {states[c] for c in cancelled} == {"draft"}
    assert {states[c] for c in released} == {"sending"}
