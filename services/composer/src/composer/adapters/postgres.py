"""The Store and Tx ports on PostgreSQL (asyncpg); SQL lives in queries.sql."""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from composer.adapters.sending_domains import SendingDomainRows
from composer.domain import (
    Campaign,
    CampaignContent,
    CampaignState,
    Directory,
    Progress,
    RegisteredSender,
    Tenant,
    User,
)
from composer.ports import FolderPage, Hit
from contracts import Event
from servicekit import outbox
from servicekit.auth import Principal, Role, hash_secret, split_key
from servicekit.byname import from_row
from servicekit.db import load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))
#: The counters add_hits increments, in the order of its parameters.
_HIT_COUNTERS = ("opens", "clicks", "machine_opens", "machine_clicks")
T = TypeVar("T")


async def _one(
    db: asyncpg.Connection | asyncpg.Pool,
    build: Callable[[asyncpg.Record], T],
    query: str,
    *args: object,
) -> T | None:
    """The named query's row, built; None when it finds none."""
    row = await db.fetchrow(Q[query], *args)
    return build(row) if row else None


def _tenant(r: asyncpg.Record) -> Tenant:
    return from_row(Tenant, r)


def _tenant_columns(t: Tenant) -> tuple[object, ...]:
    return t.id, t.company_name, t.postal_address, t.contact, t.time_zone


def _user(r: asyncpg.Record) -> User:
    return from_row(User, r, role=Role.parse(r["role"]))


def _sender(r: asyncpg.Record) -> RegisteredSender:
    return from_row(RegisteredSender, r)


def _campaign(r: asyncpg.Record) -> Campaign:
    return from_row(
        Campaign,
        r,
        state=CampaignState(r["state"]),
        content=CampaignContent.model_validate_json(r["content"]),
        merge_fields=list(r["merge_fields"]),
    )


def _progress(r: asyncpg.Record) -> Progress:
    return from_row(Progress, r, excluded=json.loads(r["excluded"]))


class PostgresTx(SendingDomainRows):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def tenant(self, tenant_id: UUID, *, lock: bool = False) -> Tenant | None:
        return await _one(self._conn, _tenant, "lock_tenant" if lock else "tenant", tenant_id)

    async def directory(self, tenant_id: UUID) -> Directory | None:
        tenant = await self.tenant(tenant_id)
        if tenant is None:
            return None
        users = [_user(r) for r in await self._conn.fetch(Q["users"], tenant_id)]
        senders = [_sender(r) for r in await self._conn.fetch(Q["senders"], tenant_id)]
        domains = await self.sending_domains(tenant_id)
        return Directory(tenant, users, senders, domains)

    async def campaign(self, tenant_id: UUID, campaign_id: UUID) -> Campaign | None:
        return await _one(self._conn, _campaign, "lock_campaign", tenant_id, campaign_id)

    async def due_campaigns(self, now: datetime, limit: int) -> list[Campaign]:
        return [_campaign(r) for r in await self._conn.fetch(Q["due_campaigns"], now, limit)]

    async def save_campaign(self, c: Campaign) -> None:
        await self._conn.execute(
            Q["save_campaign"],
            c.id,
            c.tenant_id,
            str(c.state),
            c.content.model_dump_json(),
            c.merge_fields,
            c.footer_disabled_by,
            c.footer_disabled_at,
            c.created_by,
            c.created_at,
            c.updated_by,
            c.updated_at,
            c.scheduled_for,
            c.scheduled_by,
            c.released_at,
            c.completed_at,
            c.cancelled_by,
            c.cancelled_at,
            c.last_error,
        )

    async def delete_campaign(self, tenant_id: UUID, campaign_id: UUID) -> None:
        await self._conn.execute(Q["delete_campaign"], tenant_id, campaign_id)

    async def progress(self, tenant_id: UUID, campaign_id: UUID) -> Progress | None:
        return await _one(self._conn, _progress, "lock_progress", tenant_id, campaign_id)

    async def save_progress(self, p: Progress) -> None:
        await self._conn.execute(
            Q["save_progress"],
            p.campaign_id,
            p.tenant_id,
            p.audience_total,
            json.dumps(p.excluded),
            p.delivery_total,
            p.sent,
            p.bounced,
            p.soft_bounced,
            p.failed,
            p.unknown,
            p.suppressed,
            p.delivery_at,
            p.completed,
            p.deferred,
            p.delivery_sequence,
        )

    async def add_hit(self, tenant_id: UUID, campaign_id: UUID, hit: Hit) -> None:
        counts = [int(hit.counter == c) for c in _HIT_COUNTERS]
        await self._conn.execute(Q["add_hits"], tenant_id, campaign_id, *counts)

    async def first_seen(self, event_id: UUID) -> bool:
        return await self._conn.fetchval(Q["first_seen"], event_id) is not None

    async def enqueue(self, events: Iterable[Event]) -> None:
        await outbox.enqueue(self._conn, events)

    async def insert_tenant(self, t: Tenant) -> None:
        await self._conn.execute(Q["insert_tenant"], *_tenant_columns(t))

    async def update_tenant(self, t: Tenant) -> None:
        await self._conn.execute(Q["update_tenant"], *_tenant_columns(t))

    async def user(self, tenant_id: UUID, user_id: UUID) -> User | None:
        return await _one(self._conn, _user, "user", tenant_id, user_id)

    async def user_by_email(self, tenant_id: UUID, email: str) -> User | None:
        return await _one(self._conn, _user, "user_by_email", tenant_id, email)

    async def save_user(self, u: User) -> None:
        await self._conn.execute(
            Q["save_user"], u.id, u.tenant_id, u.name, u.email, u.signature, str(u.role)
        )

    async def insert_key(
        self, key_id: str, secret_hash: str, tenant_id: UUID, user_id: UUID
    ) -> None:
        await self._conn.execute(Q["insert_key"], key_id, secret_hash, tenant_id, user_id)

    async def revoke_key(self, tenant_id: UUID, key_id: str) -> UUID | None:
        owner: UUID | None = await self._conn.fetchval(Q["revoke_key"], tenant_id, key_id)
        return owner

    async def insert_sender(self, s: RegisteredSender) -> None:
        await self._conn.execute(
            Q["insert_sender"], s.id, s.tenant_id, s.name, s.email, s.created_by
        )

    async def sender(self, tenant_id: UUID, sender_id: UUID) -> RegisteredSender | None:
        return await _one(self._conn, _sender, "sender", tenant_id, sender_id)

    async def delete_sender(self, tenant_id: UUID, sender_id: UUID) -> None:
        await self._conn.execute(Q["delete_sender"], tenant_id, sender_id)


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTx]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresTx(conn)

    async def campaign(self, tenant_id: UUID, campaign_id: UUID) -> Campaign | None:
        return await _one(self._pool, _campaign, "campaign", tenant_id, campaign_id)

    async def list_campaigns(self, tenant_id: UUID, page: FolderPage) -> list[Campaign]:
        key, last_id = page.after or (None, None)
        if page.state is CampaignState.SCHEDULED:
            rows = await self._pool.fetch(Q["list_scheduled"], tenant_id, page.limit, key, last_id)
        else:
            rows = await self._pool.fetch(
                Q["list_folder"], tenant_id, page.limit, key, last_id, str(page.state)
            )
        return [_campaign(r) for r in rows]

    async def users(self, tenant_id: UUID) -> list[User]:
        return [_user(r) for r in await self._pool.fetch(Q["users"], tenant_id)]

    async def senders(self, tenant_id: UUID) -> list[RegisteredSender]:
        return [_sender(r) for r in await self._pool.fetch(Q["senders"], tenant_id)]

    async def progress(self, tenant_id: UUID, campaign_id: UUID) -> Progress | None:
        return await _one(self._pool, _progress, "progress", tenant_id, campaign_id)

    async def prune_processed(self, days: int) -> None:
        await self._pool.execute(Q["prune_processed"], days)


class PostgresKeyVerifier:
    """servicekit's KeyVerifier on the api_keys table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def verify(self, api_key: str) -> Principal | None:
        parts = split_key(api_key)
        if parts is None:
            return None
        key_id, secret = parts
        row: Any = await self._pool.fetchrow(Q["verify_key"], key_id)
        if row is None or not hmac.compare_digest(row["secret_hash"], hash_secret(secret)):
            return None
        return Principal(row["tenant_id"], row["user_id"], Role.parse(row["role"]))
