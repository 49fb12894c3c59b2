"""In-memory ports for the unit tier, and small builders of events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from contracts import (
    Address,
    Bounced,
    CampaignScheduled,
    Complained,
    Event,
    RecipientSpec,
    StaffMember,
)
from recipients.domain import AudiencePlan, Checkpoint, new_id
from recipients.encoding import customer_fragment
from recipients.ports import Candidate
from servicekit.auth import Principal, Role

TENANT = UUID("00000000-0000-4000-8000-000000000001")
OPERATOR = StaffMember(
    user_id=UUID("00000000-0000-4000-8000-0000000000a1"),
    name="操作 太郎",
    email="operator@acme.example",
    signature="-- \nOperator",
)


def campaign(**changes: Any) -> CampaignScheduled:
    """A CampaignScheduled for TENANT sent by OPERATOR; `changes` override fields."""
    fields: dict[str, Any] = {
        "tenant_id": TENANT,
        "campaign_id": uuid4(),
        "subject": "Hello {{ last_name }}",
        "text_body": "Dear {{ full_name }}",
        "merge_fields": ["last_name", "full_name"],
        "recipients": RecipientSpec(),
        "sender": Address(name=OPERATOR.name, email=OPERATOR.email),
        "sender_user_id": OPERATOR.user_id,
        "operator": OPERATOR,
        "notify_user_id": OPERATOR.user_id,
        "staff": [OPERATOR],
    }
    fields.update(changes)
    return CampaignScheduled(**fields)


class FixedClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.value = now or datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.value


def candidates(count: int, *, every_nth_excluded: int = 0) -> list[Candidate]:
    """`count` customers in id order; every n-th one unsubscribed when n > 0."""
    rows: list[Candidate] = []
    for i in range(count):
        customer_id = str(new_id())
        if every_nth_excluded and i % every_nth_excluded == 0:
            rows.append((customer_id, "unsubscribed", None, None))
        else:
            fragment = customer_fragment(
                customer_id, f"c{i}@example.com", f"Name {i}", {"last_name": f"N{i}"}
            )
            rows.append((customer_id, None, None, fragment))
    return sorted(rows)


class FakeAudience:
    """Hands out a fixed list of candidates in id order, after a checkpoint."""

    def __init__(self, rows: Sequence[Candidate]) -> None:
        self.rows = sorted(rows)
        self.batches_served = 0

    async def batches(
        self, plan: AudiencePlan, *, after: str | None, size: int
    ) -> AsyncGenerator[Sequence[Candidate], None]:
        rows = [r for r in self.rows if after is None or r[0] > after]
        for start in range(0, len(rows), size):
            self.batches_served += 1
            yield rows[start : start + size]


class FakeResolutions:
    def __init__(self) -> None:
        self.checkpoints: dict[UUID, Checkpoint] = {}
        self.saves: list[Checkpoint] = []

    @asynccontextmanager
    async def exclusive(self, campaign_id: UUID) -> AsyncGenerator[None, None]:
        yield

    async def load(self, plan: AudiencePlan) -> Checkpoint:
        return self.checkpoints.setdefault(plan.campaign_id, Checkpoint())

    async def save(self, campaign_id: UUID, checkpoint: Checkpoint) -> None:
        self.checkpoints[campaign_id] = checkpoint
        self.saves.append(checkpoint)

    async def finish(self, campaign_id: UUID) -> None:
        current = self.checkpoints[campaign_id]
        self.checkpoints[campaign_id] = Checkpoint(
            current.last_customer_id, current.published, current.excluded, completed=True
        )


class SinkFailure(Exception):
    pass


@dataclass
class FakeSink:
    """Records what Kafka acknowledged. `fail_after` acknowledgements, every further batch
    fails (a broker going away); `hold` keeps acknowledgements back until released."""

    acknowledged: list[tuple[bytes, bytes]] = field(default_factory=list)
    fail_after: int | None = None
    hold: bool = False
    pending: list[asyncio.Future[None]] = field(default_factory=list)
    calls: int = 0
    announced: list[CampaignScheduled] = field(default_factory=list)

    async def announce(self, campaign: CampaignScheduled) -> None:
        self.announced.append(campaign)

    async def enqueue(self, records: Iterable[tuple[bytes, bytes]]) -> Awaitable[object]:
        batch = list(records)
        self.calls += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail_after is not None and self.calls > self.fail_after:
            future.set_exception(SinkFailure("broker unavailable"))
        elif self.hold:
            self.pending.append(future)
            future.add_done_callback(lambda _: self.acknowledged.extend(batch))
        else:
            self.acknowledged.extend(batch)
            future.set_result(None)
        return future

    def release(self) -> None:
        for future in self.pending:
            if not future.done():
                future.set_result(None)


@dataclass
class FakePublisher:
    published: list[Event] = field(default_factory=list)

    async def publish(self, events: Iterable[Event]) -> None:
        self.published.extend(events)


@dataclass
class FakeSuppressions:
    """Opt-outs by (tenant, address, reason) and the customers' own state; `customers`
    gives each customer's address."""

    unsubscribed: dict[tuple[UUID, UUID], datetime] = field(default_factory=dict)
    bounced: dict[tuple[UUID, UUID], datetime] = field(default_factory=dict)
    customers: dict[tuple[UUID, UUID], str] = field(default_factory=dict)
    entries: dict[tuple[UUID, str, str], tuple[datetime, str]] = field(default_factory=dict)

    def _enter(self, tenant_id: UUID, address: str, reason: str, at: datetime, src: str) -> bool:
        key = (tenant_id, address.lower(), reason)
        if key in self.entries:
            return False
        self.entries[key] = (at, src)
        return True

    async def unsubscribe(
        self, tenant_id: UUID, customer_id: UUID, at: datetime, *, source: str
    ) -> bool:
        address = self.customers.get((tenant_id, customer_id))
        if address is None:
            return False
        new = (tenant_id, customer_id) not in self.unsubscribed
        self.unsubscribed.setdefault((tenant_id, customer_id), at)
        return self._enter(tenant_id, address, "unsubscribed", at, source) or new

    async def complain(self, complaint: Complained) -> bool:
        return self._enter(
            complaint.tenant_id, complaint.email, "complained", complaint.occurred_at, "arf"
        )

    async def bounce(self, bounce: Bounced) -> bool:
        tenant_id, at = bounce.tenant_id, bounce.occurred_at
        entry = self._enter(tenant_id, bounce.email, "bounced", at, bounce.source)
        owners = [
            c
            for (t, c), address in self.customers.items()
            if t == tenant_id and address.lower() == bounce.email.lower()
            and bounce.customer_id in (None, c)
        ]  # fmt: skip
        marked = [c for c in owners if (tenant_id, c) not in self.bounced]
        for c in marked:
            self.bounced[(tenant_id, c)] = at
        return entry or bool(marked)


class FakeKeyVerifier:
    """API keys of the tests: `key -> principal`."""

    def __init__(self) -> None:
        self.keys: dict[str, Principal] = {}

    def add(self, tenant_id: UUID | None = None, role: Role = Role.MANAGER) -> dict[str, str]:
        key = f"bm_{uuid4().hex[:8]}_{uuid4().hex}"
        self.keys[key] = Principal(tenant_id or uuid4(), uuid4(), role)
        return {"Authorization": f"Bearer {key}"}

    def principal(self, auth: dict[str, str]) -> Principal:
        return self.keys[auth["Authorization"].split()[1]]

    async def verify(self, api_key: str) -> Principal | None:
        return self.keys.get(api_key)


class FakeStaff:
    """The composer's users: `tenant -> user ids`; remembers which keys asked."""

    def __init__(self) -> None:
        self.users: dict[UUID, set[UUID]] = {}
        self.asked_with: list[str] = []

    def add(self, tenant_id: UUID) -> UUID:
        user_id = uuid4()
        self.users.setdefault(tenant_id, set()).add(user_id)
        return user_id

    async def unknown(self, api_key: str, tenant_id: UUID, user_ids: Collection[UUID]) -> set[UUID]:
        self.asked_with.append(api_key)
        return set(user_ids) - self.users.get(tenant_id, set())
