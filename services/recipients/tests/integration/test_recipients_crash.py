"""kill -9 of the resolver in the middle of an audience, then a restart: every recipient is
resolved, none twice under different ids, and the summary counts every customer once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import recipients_tests_fakes as fakes

from contracts import AudienceResolved, Event, RecipientResolved, RecipientSpec, topics
from recipients.bootstrap import MIGRATIONS
from servicekit import outbox
from servicekit.db import migrate
from testkit.kafka import publish, read_events
from testkit.processes import ServiceProcess

from .conftest import private_namespace_and_schema

CUSTOMERS = 100_000
UNSUBSCRIBED_EVERY = 50
ROOT = Path(__file__).resolve().parents[4]


def resolver(stack: Any, namespace: str, schema: str) -> ServiceProcess:
    """`python -m recipients` with its own namespace, schema and port."""
    settings = {
        "kafka_bootstrap_servers": stack.kafka,
        "database_url": stack.database_url,
        "database_schema": schema,
        "kafka_namespace": namespace,
        "resolve_batch_size": 1000,
        "run_outbox_relay": "false",
    }
    log = ROOT / ".local" / "logs" / f"test-{namespace}recipients.log"
    return ServiceProcess("recipients", settings, log)


async def seed(database_url: str, schema: str) -> tuple[uuid.UUID, set[uuid.UUID], int]:
    """CUSTOMERS customers in one group, every UNSUBSCRIBED_EVERY-th unsubscribed.
    Returns (group, ids of the audience, unsubscribed count)."""
    await migrate(database_url, schema, MIGRATIONS, library=outbox.MIGRATIONS)
    group = uuid.uuid4()
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        await conn.execute(
            """
            INSERT INTO customers (tenant_id, id, email, last_name, unsubscribed_at)
            SELECT $1, ('0190a000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
                   'c' || n || '@example.com', 'N' || n,
                   CASE WHEN n % $3 = 0 THEN now() END
            FROM generate_series(1, $2) AS n
            """,
            fakes.TENANT,
            CUSTOMERS,
            UNSUBSCRIBED_EVERY,
        )
        await conn.execute(
            "INSERT INTO customer_groups (tenant_id, id, name) VALUES ($1, $2, 'all')",
            fakes.TENANT,
            group,
        )
        await conn.execute(
            "INSERT INTO group_members (tenant_id, group_id, customer_id)"
            " SELECT tenant_id, $2, id FROM customers WHERE tenant_id = $1",
            fakes.TENANT,
            group,
        )
        rows = await conn.fetch("SELECT id FROM customers WHERE unsubscribed_at IS NULL")
    finally:
        await conn.close()
    return group, {r["id"] for r in rows}, CUSTOMERS - len(rows)


async def published_so_far(database_url: str, schema: str, campaign_id: uuid.UUID) -> int:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        value = await conn.fetchval(
            "SELECT published FROM resolutions WHERE campaign_id = $1 AND completed_at IS NULL",
            campaign_id,
        )
        return int(value or 0)
    finally:
        await conn.close()


def distinct_messages(events: list[Event]) -> set[uuid.UUID]:
    return {e.message_id for e in events if isinstance(e, RecipientResolved)}


@pytest.fixture
async def isolated(stack: Any) -> AsyncIterator[tuple[str, str]]:
    async with private_namespace_and_schema(stack) as names:
        yield names


async def test_a_killed_resolver_resumes_and_resolves_everyone_exactly_once(
    stack: Any, isolated: tuple[str, str]
) -> None:
    namespace, schema = isolated
    group, audience, unsubscribed = await seed(stack.database_url, schema)
    event = fakes.campaign(recipients=RecipientSpec(include_group_ids=[group]))
    service = resolver(stack, namespace, schema)
    try:
        service.start()
        await service.wait_healthy()
        await publish(stack.kafka, namespace, [event])
        deadline = time.monotonic() + 60
        done = 0
        while done < 5000:  # kill once a few batches are acknowledged and checkpointed
            assert time.monotonic() < deadline, "the resolution did not start"
            await asyncio.sleep(0.01)
            done = await published_so_far(stack.database_url, schema, event.campaign_id)
        service.kill()
        assert done < len(audience), "killed too late to test anything"

        service.start()
        await service.wait_healthy()
        summaries = await read_events(
            stack.kafka,
            namespace + topics.AUDIENCE_RESOLVED,
            until=lambda events: len(events) >= 1,
            wait=120,
        )
        (summary,) = summaries
        assert isinstance(summary, AudienceResolved)
        recipients = await read_events(
            stack.kafka,
            namespace + topics.RECIPIENT_RESOLVED,
            until=lambda events: len(distinct_messages(events)) >= len(audience),
            wait=120,
        )
    finally:
        service.stop()

    resolved = [r for r in recipients if isinstance(r, RecipientResolved)]
    assert {r.customer_id for r in resolved} == audience
    assert len({r.message_id for r in resolved}) == len(audience)
    assert all(r.message_id == uuid.uuid5(event.campaign_id, str(r.customer_id)) for r in resolved)
    assert summary.recipients == len(audience)
    assert summary.excluded["unsubscribed"] == unsubscribed
    print(f"killed after {done} acknowledged; {len(resolved) - len(audience)} republished")
