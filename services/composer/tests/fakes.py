"""In-memory ports for the unit tier. A transaction snapshots the state and restores it on
an exception, so a refused command leaves nothing behind, as in PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from composer.auth import Account
from composer.bootstrap import Ports
from composer.domain import (
    Campaign,
    CampaignState,
    Directory,
    Progress,
    RegisteredSender,
    Tenant,
    User,
)
from composer.domain_handlers import SendingTools
from composer.ports import FolderPage, Hit, Resolved
from composer.previews import Previewer
from composer.sending_domains import (
    DkimKey,
    DnsPolicy,
    DnsUnavailable,
    Record,
    SendingDomain,
)
from composer.settings import Settings
from contracts import CampaignScheduled, Event, RecipientResolved
from mailkit.keys import KeyVault
from servicekit.auth import Principal, Role
from servicekit.errors import NotFound
from testkit.fakes import FakeBus, FakeDatabase, IdleRelay

SECRET = "unit-tests-signing-keys-secret-32+"
POLICY = DnsPolicy(
    spf_include="spf.platform.example",
    bounce_subdomain="bounces",
    bounce_host="bounce.platform.example",
    dmarc_rua="mailto:dmarc@{domain}",
)


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2030, 1, 1, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@dataclass
class State:
    tenants: dict[UUID, Tenant] = field(default_factory=dict)
    users: dict[UUID, User] = field(default_factory=dict)
    keys: dict[str, tuple[str, UUID, UUID, bool]] = field(default_factory=dict)
    senders: dict[UUID, RegisteredSender] = field(default_factory=dict)
    campaigns: dict[UUID, Campaign] = field(default_factory=dict)
    progress: dict[UUID, Progress] = field(default_factory=dict)
    seen: set[UUID] = field(default_factory=set)
    outbox: list[Event] = field(default_factory=list)
    domains: dict[UUID, SendingDomain] = field(default_factory=dict)


class FakeTx:
    def __init__(self, state: State) -> None:
        self.s = state

    async def tenant(self, tenant_id: UUID, *, lock: bool = False) -> Tenant | None:
        return self.s.tenants.get(tenant_id)

    async def directory(self, tenant_id: UUID) -> Directory | None:
        tenant = self.s.tenants.get(tenant_id)
        if tenant is None:
            return None
        users = [u for u in self.s.users.values() if u.tenant_id == tenant_id]
        senders = [x for x in self.s.senders.values() if x.tenant_id == tenant_id]
        return Directory(tenant, users, senders, await self.sending_domains(tenant_id))

    async def campaign(self, tenant_id: UUID, campaign_id: UUID) -> Campaign | None:
        c = self.s.campaigns.get(campaign_id)
        return copy.deepcopy(c) if c and c.tenant_id == tenant_id else None

    async def due_campaigns(self, now: datetime, limit: int) -> list[Campaign]:
        due = [
            c
            for c in self.s.campaigns.values()
            if c.state is CampaignState.SCHEDULED and c.scheduled_for and c.scheduled_for <= now
        ]
        due.sort(key=lambda c: c.scheduled_for or now)
        return [copy.deepcopy(c) for c in due[:limit]]

    async def save_campaign(self, campaign: Campaign) -> None:
        self.s.campaigns[campaign.id] = copy.deepcopy(campaign)

    async def delete_campaign(self, tenant_id: UUID, campaign_id: UUID) -> None:
        if (c := self.s.campaigns.get(campaign_id)) and c.tenant_id == tenant_id:
            del self.s.campaigns[campaign_id]
            self.s.progress.pop(campaign_id, None)

    async def progress(self, tenant_id: UUID, campaign_id: UUID) -> Progress | None:
        p = self.s.progress.get(campaign_id)
        return copy.deepcopy(p) if p and p.tenant_id == tenant_id else None

    async def save_progress(self, progress: Progress) -> None:
        self.s.progress[progress.campaign_id] = copy.deepcopy(progress)

    async def add_hit(self, tenant_id: UUID, campaign_id: UUID, hit: Hit) -> None:
        p = self.s.progress.get(campaign_id)
        if p and p.tenant_id == tenant_id:
            setattr(p, hit.counter, getattr(p, hit.counter) + 1)

    async def first_seen(self, event_id: UUID) -> bool:
        if event_id in self.s.seen:
            return False
        self.s.seen.add(event_id)
        return True

    async def enqueue(self, events: Iterable[Event]) -> None:
        self.s.outbox.extend(events)

    async def insert_tenant(self, tenant: Tenant) -> None:
        self.s.tenants[tenant.id] = tenant

    async def update_tenant(self, tenant: Tenant) -> None:
        self.s.tenants[tenant.id] = tenant

    async def user(self, tenant_id: UUID, user_id: UUID) -> User | None:
        u = self.s.users.get(user_id)
        return u if u and u.tenant_id == tenant_id else None

    async def user_by_email(self, tenant_id: UUID, email: str) -> User | None:
        return next(
            (
                u
                for u in self.s.users.values()
                if u.tenant_id == tenant_id and u.email.lower() == email.lower()
            ),
            None,
        )

    async def save_user(self, user: User) -> None:
        self.s.users[user.id] = user

    async def insert_key(
        self, key_id: str, secret_hash: str, tenant_id: UUID, user_id: UUID
    ) -> None:
        self.s.keys[key_id] = (secret_hash, tenant_id, user_id, False)

    async def revoke_key(self, tenant_id: UUID, key_id: str) -> UUID | None:
        key = self.s.keys.get(key_id)
        if key is None or key[1] != tenant_id:
            return None
        self.s.keys[key_id] = (*key[:3], True)
        return key[2]

    async def insert_sender(self, sender: RegisteredSender) -> None:
        self.s.senders[sender.id] = sender

    async def sender(self, tenant_id: UUID, sender_id: UUID) -> RegisteredSender | None:
        x = self.s.senders.get(sender_id)
        return x if x and x.tenant_id == tenant_id else None

    async def delete_sender(self, tenant_id: UUID, sender_id: UUID) -> None:
        if await self.sender(tenant_id, sender_id):
            del self.s.senders[sender_id]

    async def sending_domains(self, tenant_id: UUID) -> list[SendingDomain]:
        found = [d for d in self.s.domains.values() if d.tenant_id == tenant_id]
        return sorted(found, key=lambda d: (d.created_at, d.domain))

    async def sending_domain(self, tenant_id: UUID, domain_id: UUID) -> SendingDomain | None:
        d = self.s.domains.get(domain_id)
        return d if d and d.tenant_id == tenant_id else None

    async def save_sending_domain(self, domain: SendingDomain) -> None:
        self.s.domains[domain.id] = domain

    async def delete_sending_domain(self, tenant_id: UUID, domain_id: UUID) -> None:
        if await self.sending_domain(tenant_id, domain_id):
            del self.s.domains[domain_id]


class FakeStore:
    def __init__(self) -> None:
        self.state = State()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeTx]:
        saved = copy.deepcopy(self.state)
        try:
            yield FakeTx(self.state)
        except BaseException:
            self.state = saved
            raise

    @property
    def tx(self) -> FakeTx:
        return FakeTx(self.state)

    async def campaign(self, tenant_id: UUID, campaign_id: UUID) -> Campaign | None:
        return await self.tx.campaign(tenant_id, campaign_id)

    async def list_campaigns(self, tenant_id: UUID, page: FolderPage) -> list[Campaign]:
        rows = [
            c
            for c in self.state.campaigns.values()
            if c.tenant_id == tenant_id and c.state is page.state
        ]
        rows.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
        return rows[: page.limit]

    async def users(self, tenant_id: UUID) -> list[User]:
        return [u for u in self.state.users.values() if u.tenant_id == tenant_id]

    async def senders(self, tenant_id: UUID) -> list[RegisteredSender]:
        return [x for x in self.state.senders.values() if x.tenant_id == tenant_id]

    async def progress(self, tenant_id: UUID, campaign_id: UUID) -> Progress | None:
        return await self.tx.progress(tenant_id, campaign_id)

    # ------------------------------------------------------------ test helpers

    async def prune_processed(self, days: int) -> None:
        """Nothing to prune: the fake remembers no handled event ids."""

    def add_tenant(
        self, time_zone: str = "Asia/Tokyo", *, domains: tuple[str, ...] = ("acme.example",)
    ) -> Tenant:
        """A tenant whose `domains` are registered and verified (their keys are stand-ins)."""
        tenant = Tenant(uuid4(), "Acme KK", "1-1 Chiyoda, Tokyo", "03-0000-0000", time_zone)
        self.state.tenants[tenant.id] = tenant
        for name in domains:
            self.add_domain(tenant, name)
        return tenant

    def add_domain(self, tenant: Tenant, name: str, status: str = "verified") -> SendingDomain:
        now = datetime(2029, 1, 1, tzinfo=UTC)
        key = DkimKey("fake-rsa", "rsa-sha256", "active", "v=DKIM1; k=rsa; p=AAAA", "sealed", now)
        domain = SendingDomain(
            uuid4(), tenant.id, name, status, False, now, (key,),  # type: ignore[arg-type]
            verified_at=now if status == "verified" else None,
        )  # fmt: skip
        self.state.domains[domain.id] = domain
        return domain

    def add_user(
        self,
        tenant: Tenant,
        role: Role = Role.MEMBER,
        *,
        signature: str = "",
        email: str | None = None,
        name: str = "Staff",
    ) -> Principal:
        user = User(
            uuid4(), tenant.id, name, email or f"{uuid4().hex[:8]}@acme.example", signature, role
        )
        self.state.users[user.id] = user
        return Principal(tenant.id, user.id, role)

    def add_sender(
        self, tenant: Tenant, by: Principal, email: str = "support@acme.example"
    ) -> RegisteredSender:
        sender = RegisteredSender(uuid4(), tenant.id, "Support", email, by.user_id)
        self.state.senders[sender.id] = sender
        return sender

    def set_signature(self, principal: Principal, signature: str) -> None:
        self.state.users[principal.user_id] = replace(
            self.state.users[principal.user_id], signature=signature
        )


class FakeDns:
    """A zone in memory: what is published answers, the rest is absent."""

    def __init__(self) -> None:
        self.zone: dict[tuple[str, str], list[str]] = {}
        self.unavailable = False

    def publish(self, records: list[Record]) -> None:
        for r in records:
            if r.type == "MX":
                data = r.value.split()[1].rstrip(".").lower()
            else:
                data = "".join(part.strip('"') for part in r.value.split('" "'))
            self.zone.setdefault((r.type, r.name), []).append(data)

    def withdraw(self, name: str) -> None:
        self.zone = {k: v for k, v in self.zone.items() if k[1] != name}

    async def txt(self, name: str) -> list[str]:
        return self._answer("TXT", name)

    async def mx(self, name: str) -> list[str]:
        return self._answer("MX", name)

    def _answer(self, rdtype: str, name: str) -> list[str]:
        if self.unavailable:
            raise DnsUnavailable(f"{rdtype} {name}: timed out")
        return list(self.zone.get((rdtype, name), []))


def sending_tools(dns: FakeDns) -> SendingTools:
    return SendingTools(dns=dns, vault=KeyVault(SECRET), policy=POLICY)


class FakeHasher:
    """Not a hash: tests need only that verification matches what was hashed."""

    async def hash(self, password: str) -> str:
        return f"fake${password[::-1]}"

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"fake${password[::-1]}"


class FakeLogins:
    """The Logins port over the FakeStore's users and keys."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.passwords: dict[UUID, str] = {}
        self.failure_windows: dict[str, tuple[int, datetime]] = {}
        self.sessions: dict[str, datetime] = {}

    def _account(self, user: User) -> Account:
        company = self.store.state.tenants[user.tenant_id].company_name
        return Account(user, company, self.passwords.get(user.id))

    async def accounts(self, email: str) -> list[Account]:
        users = self.store.state.users.values()
        return [self._account(u) for u in users if u.email.lower() == email.lower()]

    async def account(self, tenant_id: UUID, user_id: UUID) -> Account | None:
        user = self.store.state.users.get(user_id)
        return self._account(user) if user and user.tenant_id == tenant_id else None

    async def set_password(self, tenant_id: UUID, user_id: UUID, password_hash: str) -> None:
        self.passwords[user_id] = password_hash

    async def failures(self, address: str, since: datetime) -> int:
        count, start = self.failure_windows.get(address, (0, since))
        return count if start > since else 0

    async def record_failure(self, address: str, now: datetime, window: timedelta) -> None:
        count, start = self.failure_windows.get(address, (0, now))
        if start <= now - window:
            count, start = 0, now
        self.failure_windows[address] = (count + 1, start)

    async def clear_failures(self, address: str) -> None:
        self.failure_windows.pop(address, None)

    async def prune_failures(self, before: datetime) -> None:
        return None

    async def insert_session(
        self, key_id: str, secret_hash: str, user: User, expires_at: datetime
    ) -> None:
        self.store.state.keys[key_id] = (secret_hash, user.tenant_id, user.id, False)
        self.sessions[key_id] = expires_at

    async def revoke_session(self, key_id: str) -> None:
        if key_id in self.sessions:
            self.store.state.keys[key_id] = (*self.store.state.keys[key_id][:3], True)

    async def revoke_sessions(self, tenant_id: UUID, user_id: UUID) -> None:
        for key_id in self.sessions:
            _, tenant, user, _ = self.store.state.keys[key_id]
            if (tenant, user) == (tenant_id, user_id):
                await self.revoke_session(key_id)


# ---------------------------------------------------------------- the other ports


class DictVerifier:
    """API keys are the dictionary's keys."""

    def __init__(self) -> None:
        self.keys: dict[str, Principal] = {}

    async def verify(self, api_key: str) -> Principal | None:
        return self.keys.get(api_key)


@dataclass
class FakeCustomer:
    email: str
    name: str = ""
    values: dict[str, str | None] = field(default_factory=dict)
    excluded: str | None = None


class FakeAudience:
    """The recipients service's one-recipient resolution over a dict of customers."""

    def __init__(self) -> None:
        self.customers: dict[UUID, FakeCustomer] = {}
        self.asked: list[tuple[CampaignScheduled, str]] = []
        #: The tenant's groups; None: every id is taken for a group.
        self.groups: set[UUID] | None = None

    async def unknown_groups(self, group_ids: list[UUID], api_key: str) -> list[UUID]:
        known = self.groups
        return [] if known is None else [g for g in group_ids if g not in known]

    def add(self, email: str, **kwargs: Any) -> UUID:
        customer_id = uuid4()
        self.customers[customer_id] = FakeCustomer(email, **kwargs)
        return customer_id

    async def recipient(self, campaign: CampaignScheduled, api_key: str) -> Resolved:
        self.asked.append((campaign, api_key))
        spec = campaign.recipients
        if spec.addresses:
            customer_id, found = uuid4(), FakeCustomer(spec.addresses[0])
        else:
            customer_id = spec.customer_ids[0]
            if customer_id not in self.customers:
                raise NotFound("customer")
            found = self.customers[customer_id]
        recipient = RecipientResolved(
            tenant_id=campaign.tenant_id,
            campaign_id=campaign.campaign_id,
            message_id=uuid4(),
            customer_id=customer_id,
            email=spec.deliver_to or found.email,
            name=found.name,
            merge_values={f: found.values.get(f) for f in campaign.merge_fields},
            sender=campaign.sender,
            notify_user_id=campaign.notify_user_id,
        )
        return Resolved(recipient, found.excluded)


def fake_build(
    store: FakeStore,
    clock: FakeClock,
    verifier: DictVerifier,
    audience: FakeAudience | None = None,
) -> Callable[[Settings], AbstractAsyncContextManager[Ports]]:
    """`create_app(..., build=fake_build(...))`: the composer on in-memory ports."""

    @asynccontextmanager
    async def build(_: Settings) -> AsyncIterator[Ports]:
        yield Ports(
            database=FakeDatabase(),
            bus=FakeBus(),
            store=store,
            keys=verifier,
            relay=IdleRelay(),
            clock=clock,
            sending=sending_tools(FakeDns()),
            audience=audience or FakeAudience(),
            previewer=Previewer("https://t.acme.example"),
            logins=FakeLogins(store),
            hasher=FakeHasher(),
        )

    return build
