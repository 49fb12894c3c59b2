"""PostgreSQL adapters: customers, groups and resolution checkpoints."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from contracts import Unsubscribed
from recipients.adapters import suppressions
from recipients.customers import Customer, CustomerInput, Group, Reason
from recipients.domain import AudiencePlan, Checkpoint, new_id, no_exclusions
from servicekit import outbox
from servicekit.byname import from_row
from servicekit.db import load_queries
from servicekit.errors import Conflict, NotFound

Q = load_queries(Path(__file__).with_name("queries.sql"))
SEARCH = load_queries(Path(__file__).with_name("search.sql"))
_FIRST = UUID(int=0)


def _customer(row: asyncpg.Record) -> Customer:
    return from_row(Customer, row, attributes=json.loads(row["attributes"]))


def _values(customer: CustomerInput) -> tuple[Any, ...]:
    return (
        customer.email,
        customer.last_name,
        customer.first_name,
        customer.company,
        json.dumps(dict(customer.attributes), ensure_ascii=False),
        customer.owner_user_id,
    )


class PostgresCustomers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, tenant_id: UUID, customer: CustomerInput) -> Customer:
        try:
            row = await self._pool.fetchrow(
                Q["insert_customer"], tenant_id, new_id(), *_values(customer)
            )
        except asyncpg.UniqueViolationError:
            raise Conflict("a customer with this address exists", field="email") from None
        return _customer(row)

    async def get(self, tenant_id: UUID, customer_id: UUID) -> Customer:
        row = await self._pool.fetchrow(Q["get_customer"], tenant_id, customer_id)
        if row is None:
            raise NotFound("customer")
        return _customer(row)

    async def find_by_email(self, tenant_id: UUID, email: str) -> Customer | None:
        row = await self._pool.fetchrow(Q["find_customer_by_email"], tenant_id, email)
        return None if row is None else _customer(row)

    async def search(
        self, tenant_id: UUID, text: str, *, after: UUID | None, limit: int
    ) -> list[Customer]:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._pool.fetch(
            SEARCH["search_customers"], tenant_id, after or _FIRST, pattern, limit
        )
        return [_customer(r) for r in rows]

    async def page(
        self, tenant_id: UUID, *, after: UUID | None, limit: int, group_id: UUID | None = None
    ) -> list[Customer]:
        if group_id is None:
            rows = await self._pool.fetch(Q["list_customers"], tenant_id, after or _FIRST, limit)
        else:
            if not await self._pool.fetchval(Q["group_exists"], tenant_id, group_id):
                raise NotFound("group")
            rows = await self._pool.fetch(
                Q["list_group_members"], tenant_id, group_id, after or _FIRST, limit
            )
        return [_customer(r) for r in rows]

    async def update(
        self, tenant_id: UUID, customer_id: UUID, change: Callable[[Customer], CustomerInput]
    ) -> Customer:
        """Applies `change` to the current state, the row locked in between."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(Q["lock_customer"], tenant_id, customer_id)
            if row is None:
                raise NotFound("customer")
            values = _values(change(_customer(row)))
            try:
                row = await conn.fetchrow(Q["update_customer"], tenant_id, customer_id, *values)
            except asyncpg.UniqueViolationError:
                raise Conflict("a customer with this address exists", field="email") from None
            if row["unsubscribed_at"] is not None:
                # The person unsubscribed: a new address of theirs is kept out as well.
                await suppressions.suppress_customer(
                    conn, tenant_id, customer_id, Reason.UNSUBSCRIBED, row["unsubscribed_at"],
                    "address_change",
                )  # fmt: skip
        return _customer(row)

    async def delete(self, tenant_id: UUID, customer_id: UUID) -> None:
        if await self._pool.fetchval(Q["delete_customer"], tenant_id, customer_id) is None:
            raise NotFound("customer")

    async def unsubscribe(self, tenant_id: UUID, customer_id: UUID, at: datetime) -> Customer:
        """Staff unsubscribes a customer: the state, its address's opt-out and the
        Unsubscribed event commit together."""
        async with self._pool.acquire() as conn, conn.transaction():
            row, _ = await suppressions.unsubscribe(conn, tenant_id, customer_id, at, "api")
            if row is None:
                row = await conn.fetchrow(Q["get_customer"], tenant_id, customer_id)
                if row is None:
                    raise NotFound("customer")
                return _customer(row)
            event = Unsubscribed(
                tenant_id=tenant_id, customer_id=customer_id, method="api", occurred_at=at
            )
            await outbox.enqueue(conn, [event])
        return _customer(row)


class PostgresGroups:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, tenant_id: UUID, name: str, description: str) -> Group:
        row = await self._pool.fetchrow(Q["insert_group"], tenant_id, new_id(), name, description)
        return from_row(Group, row)

    async def get(self, tenant_id: UUID, group_id: UUID) -> Group:
        row = await self._pool.fetchrow(Q["get_group"], tenant_id, group_id)
        if row is None:
            raise NotFound("group")
        return from_row(Group, row)

    async def unknown(self, tenant_id: UUID, group_ids: Sequence[UUID]) -> list[UUID]:
        rows = await self._pool.fetch(Q["existing_groups"], tenant_id, group_ids)
        known = {r["id"] for r in rows}
        return [i for i in dict.fromkeys(group_ids) if i not in known]

    async def page(self, tenant_id: UUID, *, after: UUID | None, limit: int) -> list[Group]:
        rows = await self._pool.fetch(Q["list_groups"], tenant_id, after or _FIRST, limit)
        return [from_row(Group, r) for r in rows]

    async def update(self, tenant_id: UUID, group_id: UUID, name: str, description: str) -> Group:
        row = await self._pool.fetchrow(Q["update_group"], tenant_id, group_id, name, description)
        if row is None:
            raise NotFound("group")
        return from_row(Group, row)

    async def delete(self, tenant_id: UUID, group_id: UUID) -> None:
        if await self._pool.fetchval(Q["delete_group"], tenant_id, group_id) is None:
            raise NotFound("group")

    async def add_members(
        self, tenant_id: UUID, group_id: UUID, customer_ids: Sequence[UUID]
    ) -> tuple[list[UUID], list[UUID]]:
        """(newly added, unknown) among the ids; the others were members already."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(Q["group_exists"], tenant_id, group_id):
                raise NotFound("group")
            added = await conn.fetch(Q["add_group_members"], tenant_id, group_id, customer_ids)
            known = await conn.fetch(Q["existing_customers"], tenant_id, customer_ids)
        known_ids = {r["id"] for r in known}
        unknown = [i for i in dict.fromkeys(customer_ids) if i not in known_ids]
        return [r["customer_id"] for r in added], unknown

    async def remove_member(self, tenant_id: UUID, group_id: UUID, customer_id: UUID) -> None:
        removed = await self._pool.fetchval(
            Q["remove_group_member"], tenant_id, group_id, customer_id
        )
        if removed is None:
            raise NotFound("membership")


class PostgresResolutions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def exclusive(self, campaign_id: UUID) -> AsyncIterator[None]:
        async with self._pool.acquire() as conn:
            await conn.execute(Q["lock_resolution"], campaign_id)
            try:
                yield
            finally:
                await conn.execute(Q["unlock_resolution"], campaign_id)

    async def load(self, plan: AudiencePlan) -> Checkpoint:
        await self._pool.execute(Q["start_resolution"], plan.campaign_id, plan.tenant_id)
        row = await self._pool.fetchrow(Q["get_resolution"], plan.campaign_id)
        last = row["last_customer_id"]
        return Checkpoint(
            last_customer_id=None if last is None else str(last),
            published=row["published"],
            excluded={**no_exclusions(), **json.loads(row["excluded"])},
            completed=row["completed_at"] is not None,
        )

    async def save(self, campaign_id: UUID, checkpoint: Checkpoint) -> None:
        await self._pool.execute(
            Q["save_resolution"],
            campaign_id,
            None if checkpoint.last_customer_id is None else UUID(checkpoint.last_customer_id),
            checkpoint.published,
            json.dumps(dict(checkpoint.excluded)),
        )

    async def finish(self, campaign_id: UUID) -> None:
        await self._pool.execute(Q["finish_resolution"], campaign_id)
