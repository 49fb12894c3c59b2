"""A 20,000-recipient campaign survives the loss of every moving part (SPEC §7: any instance
may be killed at any moment without a mail being lost or sent twice).

As soon as the first mail of the campaign reaches the sink (two delivery processes sending):
kill -9 one delivery process, then kill -9 the recipients process, restart the Kafka broker,
then crash PostgreSQL (immediate shutdown) and let it recover, then bring the killed
processes back (`deploy/local/up.sh`). Afterwards:

- every recipient is in the dev sink exactly once, except messages whose SMTP transaction
  was in flight in the killed process: progress reports those as `unknown`, and each of
  them is in the sink at most once;
- the campaign ends in the sent folder;
- progress agrees with the sink: sent <= distinct recipients caught <= sent + unknown
  (equal when nothing is unknown), and every recipient is final.

This disrupts everybody sharing the stack; it runs under its own marker (`make fault`).
The stack is left with every service up; a second delivery process started here is stopped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

import testkit.platform as h
from testkit import sink
from testkit.stack import stack_dir
from testkit.waiting import until

pytestmark = [pytest.mark.fault, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
PIDS = stack_dir() / "pids"
RECIPIENTS = 20_000
WHOLE_STACK = {"DELIVERY_PROCESSES": "2"}


def live_pid(name: str) -> int | None:
    """The pid recorded by the stack scripts for `name`, if that process still runs."""
    try:
        pid = int((PIDS / f"{name}.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


async def stack(script: str, *args: str, **env: str) -> None:
    """Runs a deploy/local script (they are idempotent and serialised by a lock)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [str(ROOT / "deploy" / "local" / script), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, (
        f"{script} {args} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )


def kill_hard(name: str) -> int:
    pid = live_pid(name)
    assert pid is not None, f"{name} is not running"
    os.kill(pid, signal.SIGKILL)
    return pid


async def stop_gently(name: str) -> None:
    """SIGTERM to a process this test started (its uv wrapper exits with it); then its pid
    file goes, as the stack scripts do when they stop something."""
    pid = live_pid(name)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while live_pid(name) == pid and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    if live_pid(name) is None:
        (PIDS / f"{name}.pid").unlink(missing_ok=True)


class Timeline:
    """What happened when, for the failure message and the test's output."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self.lines: list[str] = []

    def note(self, text: str) -> None:
        line = f"{time.monotonic() - self._start:6.1f}s {text}"
        self.lines.append(line)
        print(line, flush=True)

    def __str__(self) -> str:
        return "\n".join(self.lines)


async def sent_so_far(api: h.Api, campaign_id: str) -> dict:
    """Progress, or a stand-in while composer itself cannot answer (PostgreSQL down)."""
    try:
        return await h.progress(api, campaign_id)
    except Exception as exc:  # the stack is being disrupted on purpose
        return {"state": "?", "sent": 0, "error": repr(exc)}


async def brief(api: h.Api, campaign_id: str) -> str:
    p = await sent_so_far(api, campaign_id)
    keys = ("state", "total", "sent", "unknown", "failed", "error")
    return " ".join(f"{k}={p[k]}" for k in keys if k in p)


async def test_a_campaign_survives_killed_processes_and_restarted_infrastructure():
    second_delivery_was_running = live_pid("delivery-2") is not None
    timeline = Timeline()
    try:
        await stack("up.sh", SERVICES="delivery", **WHOLE_STACK)
        assert live_pid("delivery") and live_pid("delivery-2")
        timeline.note("two delivery processes up")
        await run_campaign_through_faults(timeline)
    finally:
        await stack("up.sh", **WHOLE_STACK)  # whatever died comes back
        if not second_delivery_was_running:
            await stop_gently("delivery-2")
        timeline.note("stack restored")


async def run_campaign_through_faults(timeline: Timeline) -> None:
    tenant = await h.new_tenant("E2E 障害試験 株式会社")
    people = tenant.admin.recipients
    emails = [tenant.address(f"f{i:05d}", "fault.example.com") for i in range(RECIPIENTS)]
    report = await h.import_customers(
        people,
        [{"email": e, "last_name": "障害", "first_name": f"{i}"} for i, e in enumerate(emails)],
    )
    group = await h.add_group(people, "障害試験 全員")
    await h.import_members(people, group, emails)
    timeline.note(f"imported {RECIPIENTS} customers into one group: {report}")

    api = tenant.admin.composer
    campaign = await h.compose(api, [], name="障害試験", recipients={"include_group_ids": [group]})
    high_water = await sink.sink_high_water()
    await api.call("POST", f"/v1/campaigns/{campaign['id']}/send")
    timeline.note(f"campaign {campaign['id']} sent now; sink high water {high_water}")

    # As early as possible, so that every fault lands while the campaign is under way.
    # (Resolving 20,000 customers takes well under a second: recipients is usually past it
    # when killed, and must then neither resolve the campaign again nor lose its offsets.)
    await sink.first_campaign_mail(campaign["id"], after=high_water, within=90)
    timeline.note(f"first mail caught; kill -9 delivery (pid {kill_hard('delivery')})")
    timeline.note(f"kill -9 recipients (pid {kill_hard('recipients')})")
    timeline.note(f"  progress at the kills: {await brief(api, campaign['id'])}")
    # The broker and the database go down while the surviving delivery process works alone;
    # the killed processes come back afterwards (a full `up.sh` takes longer than the rest
    # of the campaign would).
    await stack("restart.sh", "kafka")
    timeline.note(f"kafka restarted; progress {await brief(api, campaign['id'])}")
    await stack("restart.sh", "--hard", "postgres")
    timeline.note(f"postgres crashed and recovered; progress {await brief(api, campaign['id'])}")
    await stack("up.sh", **WHOLE_STACK)
    timeline.note(f"killed processes back; progress {await brief(api, campaign['id'])}")

    final = await until(
        lambda: sent_so_far(api, campaign["id"]),
        lambda p: p["state"] == "sent",
        within=200,
        what=f"campaign sent after the faults\n{timeline}",
        interval=1.0,
    )
    timeline.note(f"campaign sent: {final}")

    caught = await sink.campaign_mail(campaign["id"], after=high_water)
    per_address = Counter(rcpt.lower() for m in caught for rcpt in m["rcpt_to"])
    timeline.note(f"sink caught {len(caught)} mails for {len(per_address)} recipients")
    expected = set(emails)
    twice = {a: n for a, n in per_address.items() if n > 1}
    missing = expected - per_address.keys()
    assert not twice, (
        f"{len(twice)} recipients got the mail more than once, "
        f"e.g. {list(twice.items())[:5]}\n{timeline}"
    )
    assert per_address.keys() <= expected, f"mail to strangers\n{timeline}"
    assert final["total"] == RECIPIENTS, f"{final}\n{timeline}"
    assert len(missing) <= final["unknown"], (
        f"{len(missing)} recipients never got the mail but only {final['unknown']} are "
        f"unknown, e.g. {sorted(missing)[:5]}\n{timeline}"
    )
    assert final["sent"] <= len(per_address) <= final["sent"] + final["unknown"], (
        f"{final}\n{timeline}"
    )
    not_final = RECIPIENTS - final["sent"] - final["unknown"]
    assert not_final == 0 and final["failed"] == final["bounced"] == 0, f"{final}\n{timeline}"
