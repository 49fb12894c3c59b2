"""Closing periods and sending digests, against in-memory fakes."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta

import pytest
from notifier_tests_fakes import FakeClock, FakeMailer, FakeStore, FakeSuppression
from notifier_tests_support import Scenario, to_hit

from contracts import Timing
from notifier import handlers
from notifier.handlers import SendOptions
from notifier.mail import RenderedDigest

JST = "+09:00"
SENDER = "Bulk Mail <notifications@bulkmail.localhost>"


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text + JST)


class World:
    def __init__(self, **timings: Timing) -> None:
        self.scenario = Scenario(**timings)
        self.clock = FakeClock()
        self.store = FakeStore(self.clock)
        self.suppression = FakeSuppression()
        self.mailer = FakeMailer()
        self.options = SendOptions(sender=SENDER, owner="one", lease_s=60)

    async def start(self) -> World:
        for key in ("sender", "owner", "deputy"):
            self.scenario.user(key)
        await handlers.record_campaign(self.scenario.scheduled(), store=self.store)
        return self

    async def ingest(self, *events: object) -> None:
        hits = [to_hit(e) for e in events]
        await handlers.ingest_hits(hits, suppression=self.suppression, store=self.store)

    async def close(self, as_of: datetime, options: SendOptions | None = None) -> int:
        self.clock.current = max(self.clock.current, as_of)
        await handlers.close_periods(as_of, ledger=self.store, store=self.store)
        return await handlers.send_due_digests(
            ledger=self.store, mailer=self.mailer, clock=self.clock, options=options or self.options
        )

    def mails_to(self, key: str) -> list:
        return self.mailer.to(self.scenario.user(key).email)


# timing, event time (JST), last instant before the boundary, the boundary
TIMINGS = [
    (Timing.HOURLY, "2026-11-26T10:15", "2026-11-26T10:59:59", "2026-11-26T11:00"),
    (Timing.DAILY, "2026-11-26T10:15", "2026-11-26T23:59:59", "2026-11-27T00:00"),
    (Timing.WEEKLY, "2026-11-26T10:15", "2026-11-29T23:59:59", "2026-11-30T00:00"),
    (Timing.MONTHLY, "2026-11-26T10:15", "2026-11-30T23:59:59", "2026-12-01T00:00"),
    (Timing.MONTHLY, "2026-12-31T23:59", "2026-12-31T23:59:59", "2027-01-01T00:00"),
]


@pytest.mark.parametrize("kind", ["first_open", "reopen", "click"])
@pytest.mark.parametrize(("timing", "event_at", "before", "boundary"), TIMINGS)
async def test_each_timing_sends_at_its_boundary_and_not_before(
    kind: str, timing: Timing, event_at: str, before: str, boundary: str
) -> None:
    w = await World(**{kind: timing}).start()
    message = uuid.uuid4()
    t = jst(event_at)
    if kind == "reopen":
        await w.ingest(w.scenario.opened(message, t - timedelta(days=40)))
        await w.close(t - timedelta(days=1))  # the first open's digest is out of the way
        w.mailer.sent.clear()
    event = w.scenario.clicked(message, t) if kind == "click" else w.scenario.opened(message, t)
    await w.ingest(event)
    assert await w.close(jst(before)) == 0
    assert await w.close(jst(boundary)) == 1
    (mail,) = w.mails_to("sender")
    assert w.store.outbox[-1].period_end == jst(boundary)
    assert w.store.outbox[-1].timing == timing
    assert await w.close(jst(boundary) + timedelta(days=400)) == 0
    assert len(w.mails_to("sender")) == 1, mail["Subject"]


async def test_timing_none_never_sends() -> None:
    w = await World(first_open=Timing.NONE, click=Timing.NONE).start()
    message = uuid.uuid4()
    await w.ingest(
        w.scenario.opened(message, jst("2026-11-26T10:00")),
        w.scenario.clicked(message, jst("2026-11-26T10:01")),
    )
    assert await w.close(jst("2027-12-31T00:00")) == 0
    assert w.mailer.sent == []


async def test_kinds_follow_their_own_timings() -> None:
    w = await World(first_open=Timing.HOURLY, reopen=Timing.DAILY, click=Timing.WEEKLY).start()
    message = uuid.uuid4()
    await w.ingest(
        w.scenario.opened(message, jst("2026-11-26T10:00")),
        w.scenario.opened(message, jst("2026-11-26T12:00")),
        w.scenario.clicked(message, jst("2026-11-26T12:01")),
    )
    assert await w.close(jst("2026-11-26T11:00")) == 1
    assert [e.first_opens, e.reopens, e.clicks] == [1, 0, 0] if (e := w.store.outbox[-1]) else 0
    assert await w.close(jst("2026-11-27T00:00")) == 1
    assert [e.first_opens, e.reopens, e.clicks] == [0, 1, 0] if (e := w.store.outbox[-1]) else 0
    assert await w.close(jst("2026-11-30T00:00")) == 1
    assert [e.first_opens, e.reopens, e.clicks] == [0, 0, 1] if (e := w.store.outbox[-1]) else 0


async def test_one_mail_per_user_per_boundary_combines_kinds_and_campaigns() -> None:
    w = await World(first_open=Timing.DAILY, reopen=Timing.HOURLY, click=Timing.DAILY).start()
    other = Scenario(tenant_id=w.scenario.tenant_id, users=w.scenario.users)
    await handlers.record_campaign(other.scheduled(), store=w.store)
    m1, m2 = uuid.uuid4(), uuid.uuid4()
    await w.ingest(
        w.scenario.opened(m1, jst("2026-11-26T09:00")),
        w.scenario.opened(m1, jst("2026-11-26T23:30")),  # re-open, hourly: ends at midnight too
        w.scenario.clicked(m1, jst("2026-11-26T23:31")),
        other.opened(m2, jst("2026-11-26T15:00")),
    )
    assert await w.close(jst("2026-11-27T00:00")) == 1
    event = w.store.outbox[-1]
    assert (event.first_opens, event.reopens, event.clicks) == (2, 1, 1)
    assert set(event.campaign_ids) == {w.scenario.campaign_id, other.campaign_id}
    assert event.timing is Timing.DAILY  # the coarsest timing in the mail
    assert event.period_start == jst("2026-11-26T00:00")


@pytest.mark.parametrize(
    ("route", "user"),
    [
        ("self: the sender user", "sender"),
        ("send as owner: the customer's owner", "owner"),
        ("on behalf: the chosen user (or the creator of a registered-sender campaign)", "deputy"),
    ],
)
async def test_digest_goes_to_the_user_the_event_names(route: str, user: str) -> None:
    w = await World().start()
    await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-26T10:00"), user=user))
    assert await w.close(jst("2026-11-27T00:00")) == 1, route
    (mail,) = w.mails_to(user)
    assert mail["To"].addresses[0].display_name == w.scenario.user(user).name
    others = {"sender", "owner", "deputy"} - {user}
    assert all(w.mails_to(o) == [] for o in others)


async def test_routing_splits_one_campaign_into_one_digest_per_user() -> None:
    w = await World().start()
    for user in ("sender", "owner", "owner", "deputy"):
        await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-26T10:00"), user=user))
    assert await w.close(jst("2026-11-27T00:00")) == 3
    assert w.store.outbox and sum(e.first_opens for e in w.store.outbox) == 4


async def test_machine_and_suppressed_alone_never_make_a_digest() -> None:
    w = await World().start()
    message = uuid.uuid4()
    await w.ingest(w.scenario.opened(message, jst("2026-11-25T10:00")))
    await w.close(jst("2026-11-26T00:00"))
    w.mailer.sent.clear()
    await w.ingest(
        w.scenario.opened(message, jst("2026-11-26T10:00"), machine=True),
        w.scenario.clicked(message, jst("2026-11-26T10:00"), machine=True),
    )
    assert await w.close(jst("2026-11-27T00:00")) == 0
    assert w.mailer.sent == []


async def test_hit_arriving_after_its_period_closed_goes_to_the_next_one() -> None:
    w = await World().start()
    await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-26T10:00")))
    assert await w.close(jst("2026-11-27T00:05")) == 1
    late = w.scenario.opened(uuid.uuid4(), jst("2026-11-26T23:59"))
    await w.ingest(late)
    assert await w.close(jst("2026-11-27T00:10")) == 0  # never a second mail for that midnight
    assert await w.close(jst("2026-11-28T00:00")) == 1
    assert [e.period_end for e in w.store.outbox] == [
        jst("2026-11-27T00:00"),
        jst("2026-11-28T00:00"),
    ]


async def test_closing_late_catches_up_in_one_digest() -> None:
    w = await World(first_open=Timing.HOURLY).start()
    for hour in (9, 10, 11):
        await w.ingest(w.scenario.opened(uuid.uuid4(), jst(f"2026-11-26T{hour:02}:30")))
    assert await w.close(jst("2026-11-26T12:00:30")) == 1
    assert w.store.outbox[-1].first_opens == 3


async def test_users_without_a_known_address_wait() -> None:
    w = await World().start()
    stranger = Scenario(tenant_id=w.scenario.tenant_id, campaign_id=w.scenario.campaign_id)
    await w.ingest(stranger.opened(uuid.uuid4(), jst("2026-11-26T10:00"), user="newcomer"))
    assert await w.close(jst("2026-11-27T00:00")) == 0
    await handlers.record_campaign(stranger.scheduled(), store=w.store)
    assert await w.close(jst("2026-11-27T00:01")) == 1


async def test_crash_between_building_and_sending_still_sends_exactly_one() -> None:
    w = await World().start()
    await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-26T10:00")))

    class Killed(BaseException):  # like a SIGKILL, nothing in the process catches it
        pass

    def crash() -> None:
        raise Killed("the process dies after building")

    crashing = SendOptions(sender=SENDER, owner="dies", lease_s=60, after_build=crash)
    with pytest.raises(Killed):
        await w.close(jst("2026-11-27T00:00"), crashing)
    assert w.mailer.sent == []
    assert await w.close(jst("2026-11-27T00:00")) == 0  # the dead holder's lease still runs
    w.clock.advance(seconds=61)
    assert await w.close(w.clock.now()) == 1
    assert len(w.mails_to("sender")) == 1
    assert await w.close(w.clock.now() + timedelta(days=1)) == 0


async def test_two_senders_never_send_the_same_digest_twice() -> None:
    w = await World().start()
    for user in ("sender", "owner", "deputy"):
        await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-26T10:00"), user=user))
    w.clock.current = jst("2026-11-27T00:00")
    both = [handlers.close_periods(w.clock.now(), ledger=w.store, store=w.store) for _ in range(2)]
    await asyncio.gather(*both)
    sends = [
        handlers.send_due_digests(
            ledger=w.store,
            mailer=w.mailer,
            clock=w.clock,
            options=SendOptions(sender=SENDER, owner=name),
        )
        for name in ("a", "b")
    ]
    assert sum(await asyncio.gather(*sends)) == 3
    assert len(w.mailer.sent) == 3


async def test_temporary_failure_is_retried_and_permanent_one_is_given_up() -> None:
    w = await World().start()
    await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-26T10:00"), user="sender"))
    w.mailer.fail_next = 1
    assert await w.close(jst("2026-11-27T00:00")) == 0
    w.clock.advance(seconds=61)
    assert await w.close(w.clock.now()) == 1
    assert len(w.mails_to("sender")) == 1

    await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-27T10:00"), user="owner"))
    w.mailer.refuse.add(w.scenario.user("owner").email)
    assert await w.close(jst("2026-11-28T00:00")) == 0
    w.clock.advance(days=1)
    assert await w.close(w.clock.now()) == 0
    assert w.mails_to("owner") == []
    assert sorted(d.state for d in w.store.digests.values()) == ["failed", "sent"]


class Ticking(FakeClock):
    """Time that passes as the test runs: leases run out while a slow mail server works."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self.current + timedelta(seconds=time.monotonic() - self._began)


class SlowMailer(FakeMailer):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def send(self, mail: RenderedDigest) -> None:
        await asyncio.sleep(self.seconds)
        await super().send(mail)


async def test_a_slow_mail_server_and_a_second_cycle_send_every_digest_once() -> None:
    w = await World().start()
    users = [f"user{i}" for i in range(8)]
    for user in users:
        w.scenario.user(user)
    await handlers.record_campaign(w.scenario.scheduled(), store=w.store)
    for user in users:
        await w.ingest(w.scenario.opened(uuid.uuid4(), jst("2026-11-26T10:00"), user=user))
    await handlers.close_periods(jst("2026-11-27T00:00"), ledger=w.store, store=w.store)
    w.store.clock = Ticking(jst("2026-11-27T00:00"))
    mailer = SlowMailer(seconds=0.5)  # every send outlasts the lease

    async def cycle(owner: str, after: float) -> int:
        await asyncio.sleep(after)
        options = SendOptions(sender=SENDER, owner=owner, lease_s=0.3, concurrency=2)
        return await handlers.send_due_digests(
            ledger=w.store, mailer=mailer, clock=w.store.clock, options=options
        )

    sent = await asyncio.gather(cycle("first", 0), cycle("second", 0.35))
    recipients = sorted(m["To"].addresses[0].addr_spec for m in mailer.sent)
    assert recipients == sorted(w.scenario.user(u).email for u in users)
    assert sum(sent) == len(users) and sent[1] > 0, "the second cycle took its share"
