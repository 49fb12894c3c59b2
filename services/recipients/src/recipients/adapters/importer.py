"""Bulk imports: staged with COPY, decided and applied set-based, in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from recipients.customers import ImportReport, Reject
from recipients.domain import EMAIL_PATTERN, import_id_prefix
from recipients.imports import CustomerRow, MemberRow
from recipients.ports import ImportRules, UnknownUsers
from servicekit.byname import from_row
from servicekit.db import load_queries
from servicekit.errors import Invalid, NotFound

Q = load_queries(Path(__file__).with_name("imports.sql"))
# Sorting and hashing a million staged rows on disk (the default 4 MB) took longer than the
# rest of the import; imports are rare, so one may use more for its own transaction.
_SORT_IN_MEMORY = "SET LOCAL work_mem = '256MB'"
_GROUP_EXISTS = "SELECT EXISTS (SELECT FROM customer_groups WHERE tenant_id = $1 AND id = $2)"
_CUSTOMER_COLUMNS = (
    "line",
    "email",
    "last_name",
    "first_name",
    "company",
    "attributes",
    "owner_user_id",
)


class _Counted:
    """Flattens batches of rows for COPY and counts them on the way."""

    def __init__(self, batches: AsyncIterable[Sequence[Any]]) -> None:
        self._batches = batches
        self.count = 0

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for batch in self._batches:
            self.count += len(batch)
            for row in batch:
                yield row


@dataclass(frozen=True)
class PostgresImporter:
    """Lists the first `listed_rejects` rejected rows of a report; refuses a file naming
    more than `max_owners` different owners."""

    pool: asyncpg.Pool
    _: KW_ONLY
    listed_rejects: int = 1000
    max_owners: int = 1000

    async def import_customers(
        self, tenant_id: UUID, rows: AsyncIterable[Sequence[CustomerRow]], rules: ImportRules
    ) -> ImportReport:
        staged = _Counted(rows)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_SORT_IN_MEMORY)
            await conn.execute(Q["create_customer_staging"])
            await conn.execute(Q["create_rejects"])
            await conn.copy_records_to_table(
                "import_customers", records=staged, columns=_CUSTOMER_COLUMNS
            )
            await conn.execute("ANALYZE import_customers")
            await conn.execute(Q["reject_invalid_customer_rows"], EMAIL_PATTERN)
            await self._reject_unknown_owners(conn, rules.unknown_owners)
            await conn.execute(Q["reject_repeated_addresses"])
            updated = 0
            if rules.update_existing:
                updated = _affected(await conn.execute(Q["update_existing_customers"], tenant_id))
            else:
                await conn.execute(Q["reject_existing_addresses"], tenant_id)
            inserted = _affected(
                await conn.execute(Q["insert_new_customers"], tenant_id, import_id_prefix())
            )
            return await self._report(conn, staged.count, inserted=inserted, updated=updated)

    async def import_members(
        self, tenant_id: UUID, group_id: UUID, rows: AsyncIterable[Sequence[MemberRow]]
    ) -> ImportReport:
        staged = _Counted(rows)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_SORT_IN_MEMORY)
            if not await conn.fetchval(_GROUP_EXISTS, tenant_id, group_id):
                raise NotFound("group")
            await conn.execute(Q["create_member_staging"])
            await conn.execute(Q["create_rejects"])
            await conn.copy_records_to_table(
                "import_members", records=staged, columns=("line", "customer_id", "email")
            )
            await conn.execute("ANALYZE import_members")
            await conn.execute(Q["resolve_members"], tenant_id, EMAIL_PATTERN)
            await conn.execute(Q["reject_member_rows"])
            inserted = _affected(await conn.execute(Q["insert_members"], tenant_id, group_id))
            report = await self._report(conn, staged.count, inserted=inserted)
        unchanged = report.rows - report.inserted - report.rejected
        return ImportReport(
            rows=report.rows,
            inserted=report.inserted,
            unchanged=unchanged,
            rejected_by_reason=report.rejected_by_reason,
            rejects=report.rejects,
        )

    async def _reject_unknown_owners(
        self, conn: asyncpg.Connection, unknown_owners: UnknownUsers
    ) -> None:
        named = [r["owner"] for r in await conn.fetch(Q["staged_owners"], self.max_owners + 1)]
        if len(named) > self.max_owners:
            raise Invalid.one(
                "owner_user_id", f"more than {self.max_owners} different owners in one file"
            )
        unknown = await unknown_owners(named) if named else set()
        if unknown:
            await conn.execute(Q["reject_unknown_owners"], list(unknown))

    async def _report(
        self, conn: asyncpg.Connection, rows: int, *, inserted: int, updated: int = 0
    ) -> ImportReport:
        counts = await conn.fetch(Q["reject_counts"])
        listed = await conn.fetch(Q["first_rejects"], self.listed_rejects)
        return ImportReport(
            rows=rows,
            inserted=inserted,
            updated=updated,
            rejected_by_reason={r["reason"]: r["n"] for r in counts},
            rejects=tuple(from_row(Reject, r) for r in listed),
        )


def _affected(status: str) -> int:
    """Row count of a command tag such as 'INSERT 0 42' or 'UPDATE 7'."""
    return int(status.rsplit(" ", 1)[-1])
