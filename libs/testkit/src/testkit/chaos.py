"""One chaos trial: a campaign of a few thousand recipients, during which one process of the
stack (an instance of a service, or a Kafka broker) is killed with SIGKILL at a chosen
moment and brought back with `deploy/local/up.sh`; then what SPEC §7 promises is checked.

- the campaign reaches the sent folder;
- no address got the mail twice; every recipient got it, except messages whose SMTP
  transaction was in flight in a killed delivery process: progress reports those as
  `unknown`, and each of them is in the sink at most once;
- progress adds up (every recipient final, one final state each);
- every tracking hit that was answered (pixel 200, click 302) during the trial is on its
  Kafka topic;
- after the digest periods are closed (on every notifier instance at once), each staff
  member with a notified open has exactly one digest, and the notifier counts as many.

Used by `tools/chaos.py` (random victims and moments) and the cluster tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from servicekit.tokens import Kind, TokenCodec
from testkit import platform, sink, stack
from testkit.platform import Endpoints, Tenant
from testkit.trial_hits import Hit, HitTail, Hitter, acknowledged

MOMENTS = ("resolving", "early", "mid", "late")
# A moment is the share of the audience sent when the victim is killed.
SHARE = {"early": 0.0, "mid": 0.5, "late": 0.85}
HITS = 24


@dataclass
class Outcome:
    victim: str = ""
    moment: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    api_errors: list[str] = field(default_factory=list)
    hit_statuses: Counter[str] = field(default_factory=Counter)
    hits_while_down: int = 0  # answered between the kill and the end of up.sh

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, text: str) -> None:
        self.problems.append(text)


# ---------------------------------------------------------------- the world of one trial


@dataclass
class World:
    tenant: Tenant
    campaign_id: str
    emails: list[str]
    staff_email: dict[UUID, str]
    high_water: int


async def prepare(recipients: int, endpoints: Endpoints) -> World:
    """A tenant with two owners, `recipients` customers (owned in turn) in one group, and a
    tracked campaign to them, sent as their owners; not yet sent."""
    tenant = await platform.new_tenant("障害試験 株式会社", endpoints=endpoints)
    owners = [await tenant.add_user(f"営業 {n}", "manager", f"営業 {n}") for n in ("一郎", "二郎")]
    people = tenant.admin.recipients
    emails = [tenant.address(f"c{i:05d}", "chaos.example.com") for i in range(recipients)]
    rows = [
        {"email": e, "last_name": "障害", "first_name": str(i), "owner_user_id": owners[i % 2].id}
        for i, e in enumerate(emails)
    ]
    await platform.import_customers(people, rows)
    group = await platform.add_group(people, "障害試験 全員")
    await platform.import_members(people, group, emails)
    campaign = await platform.compose(
        tenant.admin.composer,
        [],
        name="障害試験",
        recipients={"include_group_ids": [group]},
        send_as_owner=True,
        tracking={
            "track_opens": True,
            "track_clicks": True,
            "first_open_timing": "hourly",
            "reopen_timing": "hourly",
            "click_timing": "hourly",
        },
    )
    staff = {UUID(u.id): u.email for u in [tenant.admin, *owners]}
    return World(tenant, str(campaign["id"]), emails, staff, await sink.sink_high_water())


# ---------------------------------------------------------------- the trial


@dataclass
class Fault:
    """Whom to kill and when: `victim` is a process name of the stack, or a callable that
    picks one at the moment of the kill (e.g. the leader of a topic's partitions)."""

    victim: str | Callable[[], Any]
    moment: str
    pause: float = 0.0  # between the kill and up.sh
    hits: int = HITS  # opens and clicks during the trial


async def run(
    fault: Fault,
    *,
    recipients: int,
    endpoints: Endpoints,
    up_env: dict[str, str],
    within: float = 420,
    say: Callable[[str], None] = lambda _: None,
) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(moment=fault.moment)
    world = await prepare(recipients, endpoints)
    api = world.tenant.admin.composer
    tail = HitTail()
    await tail.start()
    codec = TokenCodec.from_secret(os.environ["TOKEN_SECRET"])
    hitter = Hitter(world.campaign_id, world.high_water, endpoints, codec, fault.hits)
    hitting = asyncio.create_task(hitter.run())
    try:
        await api.call("POST", f"/v1/campaigns/{world.campaign_id}/send")
        say(f"campaign {world.campaign_id} of {recipients} sent now")
        await reach(fault.moment, world, api, recipients, outcome)
        victim = fault.victim if isinstance(fault.victim, str) else await fault.victim()
        outcome.victim = victim
        at = await progress_or_none(api, world.campaign_id, outcome)
        pid = await stack.kill(victim)
        killed = time.monotonic()
        say(f"killed {victim} (pid {pid}) at sent={at and at['sent']}")
        await asyncio.sleep(fault.pause)
        await bring_back(outcome, up_env, say)
        back = time.monotonic()
        final = await until_sent(api, world.campaign_id, within, outcome)
        if final is None:
            return outcome
        await check_mail(world, final, victim, outcome)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(hitting, 120)
        outcome.hits_while_down = sum(killed <= h.at <= back for h in hitter.hits)
        await check_hits(hitter.hits, tail, outcome)
        await check_digests(world, hitter.hits, endpoints, outcome)
    finally:
        hitting.cancel()
        await tail.stop()
        outcome.seconds = time.monotonic() - started
    return outcome


async def reach(moment: str, world: World, api: platform.Api, total: int, out: Outcome) -> None:
    """Returns at the moment: just after the send ("resolving"), at the first caught mail,
    or once a share of the audience is sent (or the campaign is, whichever comes first)."""
    if moment == "resolving":
        await asyncio.sleep(random.uniform(0.0, 0.5))
        return
    if moment == "early":
        await sink.first_campaign_mail(world.campaign_id, after=world.high_water, within=180)
        return
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        p = await progress_or_none(api, world.campaign_id, out)
        if p and (p["sent"] >= SHARE[moment] * total or p["state"] == "sent"):
            return
        await asyncio.sleep(0.1)


async def progress_or_none(api: platform.Api, campaign_id: str, out: Outcome) -> Any:
    try:
        return await platform.progress(api, campaign_id)
    except Exception as exc:  # the stack is being disrupted on purpose; counted, not fatal
        out.api_errors.append(repr(exc)[:300])
        return None


async def bring_back(out: Outcome, env: dict[str, str], say: Callable[[str], None]) -> None:
    """`up.sh` once, as an operator would; it must work the first time."""
    ran = await stack.script("up.sh", env=env)
    say(f"up.sh: {'ok' if ran.ok else 'FAILED'} in {ran.seconds:.1f}s")
    if ran.ok:
        return
    out.fail(f"up.sh failed on its first call:\n{ran.tail()}")
    for _ in range(3):  # whatever happens, the next trials need the stack
        await asyncio.sleep(5)
        if (await stack.script("up.sh", env=env)).ok:
            return


async def until_sent(api: platform.Api, campaign_id: str, within: float, out: Outcome) -> Any:
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = await progress_or_none(api, campaign_id, out) or last
        if last and last["state"] == "sent":
            return last
        await asyncio.sleep(0.5)
    out.fail(f"campaign not sent within {within:.0f}s; last progress {last}")
    return None


async def check_mail(world: World, final: dict[str, Any], victim: str, out: Outcome) -> None:
    caught = await sink.campaign_mail(world.campaign_id, after=world.high_water)
    per_address = Counter(r.lower() for m in caught for r in m["rcpt_to"])
    expected = set(world.emails)
    twice = [a for a, n in per_address.items() if n > 1]
    missing = expected - per_address.keys()
    if twice:
        out.fail(f"{len(twice)} addresses got the mail twice, e.g. {twice[:3]}")
    if not per_address.keys() <= expected:
        out.fail("mail to addresses outside the audience")
    if final["total"] != len(expected):
        out.fail(f"audience {final['total']}, expected {len(expected)}")
    final_states = ("sent", "bounced", "soft_bounced", "failed", "unknown", "suppressed")
    if sum(final[k] for k in final_states) != final["total"] or final["deferred"]:
        out.fail(f"progress does not add up: {final}")
    if final["failed"] or final["bounced"] or final["soft_bounced"] or final["suppressed"]:
        out.fail(f"unexpected outcomes: {final}")
    unknown = final["unknown"]
    if unknown and not victim.startswith("delivery"):
        out.fail(f"{unknown} unknown, yet no delivery process was killed")
    if len(missing) > unknown:
        out.fail(f"{len(missing)} recipients never got the mail, only {unknown} unknown")
    if not final["sent"] <= len(per_address) <= final["sent"] + unknown:
        out.fail(f"sink has {len(per_address)} recipients, progress {final}")
    if unknown:
        out.notes.append(f"unknown={unknown}")


async def check_hits(hits: list[Hit], tail: HitTail, out: Outcome) -> None:
    out.hit_statuses.update(h.status for h in hits)
    wanted = Counter((h.kind, h.message_id) for h in hits if acknowledged(h))

    def all_there() -> bool:
        return all(tail.seen[key] >= n for key, n in wanted.items())

    await tail.read_until(all_there, within=60)
    lost = [key for key, n in wanted.items() if tail.seen[key] < n]
    if lost:
        out.fail(f"{len(lost)} acknowledged hits are not in Kafka")
    out.notes.append(
        f"hits {sum(wanted.values())}/{len(hits)} acked, {out.hits_while_down} while down"
    )


async def check_digests(world: World, hits: list[Hit], endpoints: Endpoints, out: Outcome) -> None:
    tenant = world.tenant.id
    acked = [h for h in hits if acknowledged(h)]
    notified = {h.notify_user_id for h in acked if h.kind is Kind.OPEN}
    deadline = time.monotonic() + 90
    while True:  # every acknowledged hit recorded, none waiting for its campaign
        stats = await platform.digest_stats(world.tenant)
        counted = sum(
            stats[k]
            for k in ("first_opens", "reopens", "suppressed_reopens", "machine_events", "clicks")
        )
        if (
            counted >= len(acked) and not stats["awaiting_campaign"]
        ) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    closers = [
        platform.close_periods(tenant, endpoints=Endpoints(notifier=url))
        for url in platform.instances(endpoints.notifier)
    ]
    await asyncio.gather(*closers)
    digests: dict[UUID, int] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        digests = {u: len(await sink.sink_list(to=e)) for u, e in world.staff_email.items()}
        if all(digests[u] for u in notified):
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(2.0)  # a second copy, if any, has time to arrive
    digests = {u: len(await sink.sink_list(to=e)) for u, e in world.staff_email.items()}
    got = {u for u, n in digests.items() if n}
    if not notified <= got:
        out.fail(f"{len(notified - got)} of {len(notified)} notified staff got no digest")
    if any(n > 1 for n in digests.values()):
        out.fail(f"more than one digest for a user: {sorted(digests.values())}")
    sent = (await platform.digest_stats(world.tenant))["digests_sent"]
    if sent != len(got):
        out.fail(f"notifier counts {sent} digests, the sink has {len(got)}")
    out.notes.append(f"digests {len(got)}")
