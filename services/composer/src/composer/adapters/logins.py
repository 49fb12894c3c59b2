"""The Logins port on PostgreSQL; SQL in logins.sql."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg

from composer.auth import Account
from composer.domain import User
from servicekit.auth import Role
from servicekit.db import load_queries

Q = load_queries(Path(__file__).with_name("logins.sql"))


def _account(r: asyncpg.Record) -> Account:
    user = User(
        r["id"], r["tenant_id"], r["name"], r["email"], r["signature"], Role.parse(r["role"])
    )
    return Account(user, r["company_name"], r["password_hash"])


class PostgresLogins:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def accounts(self, email: str) -> list[Account]:
        return [_account(r) for r in await self._pool.fetch(Q["accounts"], email)]

    async def account(self, tenant_id: UUID, user_id: UUID) -> Account | None:
        row = await self._pool.fetchrow(Q["account"], tenant_id, user_id)
        return _account(row) if row else None

    async def set_password(self, tenant_id: UUID, user_id: UUID, password_hash: str) -> None:
        await self._pool.execute(Q["set_password"], tenant_id, user_id, password_hash)

    async def failures(self, address: str, since: datetime) -> int:
        return int(await self._pool.fetchval(Q["failures"], address, since) or 0)

    async def record_failure(self, address: str, now: datetime, window: timedelta) -> None:
        await self._pool.execute(Q["record_failure"], address, now, window)

    async def clear_failures(self, address: str) -> None:
        await self._pool.execute(Q["clear_failures"], address)

    async def prune_failures(self, before: datetime) -> None:
        await self._pool.execute(Q["prune_failures"], before)

    async def insert_session(
        self, key_id: str, secret_hash: str, user: User, expires_at: datetime
    ) -> None:
        await self._pool.execute(
            Q["insert_session"], key_id, secret_hash, user.tenant_id, user.id, expires_at
        )

    async def revoke_session(self, key_id: str) -> None:
        await self._pool.execute(Q["revoke_session"], key_id)

    async def revoke_sessions(self, tenant_id: UUID, user_id: UUID) -> None:
        await self._pool.execute(Q["revoke_sessions"], tenant_id, user_id)
