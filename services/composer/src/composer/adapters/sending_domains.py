"""Sending domains and their DKIM keys on PostgreSQL: the part of the Tx port that
PostgresTx takes from here. SQL lives in sending_domains.sql."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from uuid import UUID

import asyncpg

from composer.sending_domains import DkimKey, Finding, SendingDomain
from servicekit.byname import from_row
from servicekit.db import load_queries
from servicekit.errors import Conflict

Q = load_queries(Path(__file__).with_name("sending_domains.sql"))


def _key(r: asyncpg.Record) -> DkimKey:
    return from_row(DkimKey, r, sealed_private_key=r["private_key"])


def _domain(r: asyncpg.Record, keys: list[DkimKey]) -> SendingDomain:
    findings = tuple(Finding(**f) for f in json.loads(r["findings"]))
    return from_row(SendingDomain, r, keys=tuple(keys), findings=findings)


async def load(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[SendingDomain]:
    keys: dict[UUID, list[DkimKey]] = {r["id"]: [] for r in rows}
    for k in await conn.fetch(Q["dkim_keys"], list(keys)):
        keys[k["domain_id"]].append(_key(k))
    return [_domain(r, keys[r["id"]]) for r in rows]


class SendingDomainRows:
    """Mixed into PostgresTx: every statement runs on that transaction's connection."""

    _conn: asyncpg.Connection

    async def sending_domains(self, tenant_id: UUID) -> list[SendingDomain]:
        return await load(self._conn, await self._conn.fetch(Q["sending_domains"], tenant_id))

    async def sending_domain(self, tenant_id: UUID, domain_id: UUID) -> SendingDomain | None:
        row = await self._conn.fetchrow(Q["lock_sending_domain"], tenant_id, domain_id)
        return (await load(self._conn, [row]))[0] if row else None

    async def save_sending_domain(self, d: SendingDomain) -> None:
        findings = json.dumps([asdict(f) for f in d.findings])
        try:
            await self._conn.execute(
                Q["save_sending_domain"], d.id, d.tenant_id, d.domain, d.status, d.ed25519,
                d.created_at, d.verified_at, d.checked_at, findings,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise Conflict(f"{d.domain} is already a sending domain of the tenant") from None
        await self._conn.execute(Q["drop_other_keys"], d.id, [k.selector for k in d.keys])
        await self._conn.executemany(
            Q["save_dkim_key"],
            [
                (d.id, k.selector, k.algorithm, k.state, k.public_record,
                 k.sealed_private_key, k.created_at)
                for k in d.keys
            ],
        )  # fmt: skip

    async def delete_sending_domain(self, tenant_id: UUID, domain_id: UUID) -> None:
        await self._conn.execute(Q["delete_sending_domain"], tenant_id, domain_id)
