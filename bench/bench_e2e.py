"""End-to-end benchmark: release of a 100,000-recipient campaign → last mail accepted.

Runs a private copy of all five services (own Kafka namespace, own PostgreSQL schemas, own
ports) beside the stack of `make up`, with delivery pointed at Postfix's `smtp-sink`, so the
figure is the platform's and not the dev sink's. The clock starts when the campaign is sent
and stops when composer reports it `sent` (delivery reports completion only once every
recipient is final). Also reports each service's peak RSS (VmHWM).

Prints one JSON line: e2e.recipients, e2e.seconds, e2e.msgs_per_s, rss_mb.<service>.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from benchkit import drop_schema, peak_rss_mb, start_smtp_sink

from testkit import platform
from testkit.platform import Endpoints
from testkit.processes import free_port
from testkit.sandbox import kafka_namespace

ROOT = Path(__file__).resolve().parents[1]
RECIPIENTS = int(os.environ.get("BENCH_E2E_RECIPIENTS", 100_000))
SERVICES = {"composer": 0, "recipients": 1, "delivery": 2, "tracking": 3, "notifier": 4}
TAG = uuid.uuid4().hex[:8]


class Stack:
    def __init__(self, sink_port: int, namespace: str) -> None:
        self.ports = {name: free_port() for name in SERVICES}
        base = dict(os.environ)
        base.update(
            KAFKA_NAMESPACE=namespace,
            SMTP_PORT=str(sink_port),
            TRACKING_BASE_URL=f"http://127.0.0.1:{self.ports['tracking']}",
            COMPOSER_URL=f"http://127.0.0.1:{self.ports['composer']}",
            RECIPIENTS_URL=f"http://127.0.0.1:{self.ports['recipients']}",
            BOUNCE_SMTP_PORT=str(free_port()),
            TRACKING_PROCESSES="1",
            LOG_LEVEL="WARNING",
        )
        self.env = {
            name: {
                **base,
                "DATABASE_SCHEMA": f"benche2e_{TAG}_{name}",
                "HTTP_PORT": str(self.ports[name]),
                "INTERNAL_PORT": str(free_port()),
            }
            for name in SERVICES
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = ROOT / ".local" / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        for name in SERVICES:
            log = open(self.logs / f"bench-e2e-{name}.log", "wb")  # noqa: SIM115 - lives with the process
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", name],
                env=self.env[name],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        for name, port in self.ports.items():
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if self.procs[name].poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not start; see .local/logs/bench-e2e-{name}.log")
                time.sleep(0.5)

    def rss(self) -> dict[str, float]:
        return {f"rss_mb.{n}": round(peak_rss_mb(p.pid), 1) for n, p in self.procs.items()}

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def endpoints(stack: Stack) -> Endpoints:
    def url(name: str) -> str:
        return f"http://127.0.0.1:{stack.ports[name]}"

    return Endpoints(
        composer=url("composer"),
        recipients=url("recipients"),
        delivery=url("delivery"),
        tracking=url("tracking"),
        notifier=url("notifier"),
    )


async def run_campaign(stack: Stack) -> float:
    tenant = await platform.new_tenant(
        "Bench KK", endpoints=endpoints(stack), env=stack.env["composer"]
    )
    people = tenant.admin.recipients
    emails = [tenant.address(f"r{i}", "bench.example.com") for i in range(RECIPIENTS)]
    imported = await platform.import_customers(
        people, ({"email": e, "last_name": f"顧客{i}"} for i, e in enumerate(emails))
    )
    assert imported["inserted"] == RECIPIENTS, imported
    group = await platform.add_group(people, "all")
    await platform.import_members(people, group, emails)
    composer = tenant.admin.composer
    campaign = await composer.call(
        "POST",
        "/v1/campaigns",
        json={
            "subject": "{{ last_name }} 様 ベンチマーク",
            "html_body": '<p>{{ last_name }} 様</p><p><a href="https://example.com/a">a</a></p>',
            "text_body": "{{ last_name }} 様 https://example.com/a",
            "recipients": {"include_group_ids": [group]},
        },
    )
    started = time.monotonic()
    await composer.call("POST", f"/v1/campaigns/{campaign['id']}/send")
    progress = await platform.wait_until_sent(composer, campaign["id"], 1200)
    elapsed = time.monotonic() - started
    assert progress["sent"] == RECIPIENTS, progress
    return elapsed


async def measure() -> dict[str, float | int]:
    sink_port = free_port()
    sink = start_smtp_sink(sink_port)
    try:
        async with kafka_namespace(os.environ["KAFKA_BOOTSTRAP_SERVERS"], "benche2e") as ns:
            stack = Stack(sink_port, ns)
            try:
                stack.start()
                seconds = await run_campaign(stack)
                return {
                    "e2e.recipients": RECIPIENTS,
                    "e2e.seconds": round(seconds, 1),
                    "e2e.msgs_per_s": round(RECIPIENTS / seconds),
                    **stack.rss(),
                }
            finally:
                stack.stop()
    finally:
        sink.terminate()
        for name in SERVICES:
            await drop_schema(os.environ["DATABASE_URL"], f"benche2e_{TAG}_{name}")


def main() -> int:
    print(json.dumps(asyncio.run(measure())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
