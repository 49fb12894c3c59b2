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

import asyncpg
import httpx
from benchkit import free_port, peak_rss_mb, start_smtp_sink

from servicekit.admin import create_topics

ROOT = Path(__file__).resolve().parents[1]
RECIPIENTS = int(os.environ.get("BENCH_E2E_RECIPIENTS", 100_000))
SERVICES = {"composer": 0, "recipients": 1, "delivery": 2, "tracking": 3, "notifier": 4}
TAG = uuid.uuid4().hex[:8]
NAMESPACE = f"benche2e{TAG}."


class Stack:
    def __init__(self, sink_port: int) -> None:
        self.ports = {name: free_port() for name in SERVICES}
        base = dict(os.environ)
        base.update(
            KAFKA_NAMESPACE=NAMESPACE,
            SMTP_PORT=str(sink_port),
            TRACKING_BASE_URL=f"http://127.0.0.1:{self.ports['tracking']}",
            COMPOSER_URL=f"http://127.0.0.1:{self.ports['composer']}",
            BOUNCE_SMTP_PORT=str(free_port()),
            TRACKING_PROCESSES="1",
            LOG_LEVEL="WARNING",
        )
        self.env = {
            name: {
                **base,
                "DATABASE_SCHEMA": f"benche2e_{TAG}_{name}",
                "HTTP_PORT": str(self.ports[name]),
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


def bootstrap(env: dict[str, str]) -> str:
    out = subprocess.run(
        [
            sys.executable, "-m", "composer", "bootstrap", "--company", "Bench KK",
            "--address", "Tokyo", "--contact", "03-0000-0000", "--time-zone", "Asia/Tokyo",
            "--admin-name", "Bench", "--admin-email", f"bench-{TAG}@bench.example.com",
        ],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return str(json.loads(out.stdout.strip().splitlines()[-1])["api_key"])


def run_campaign(stack: Stack, key: str) -> float:
    auth = {"Authorization": f"Bearer {key}"}
    people = f"http://127.0.0.1:{stack.ports['recipients']}"
    composer = f"http://127.0.0.1:{stack.ports['composer']}"
    rows = "".join(
        json.dumps({"email": f"r{i}-{TAG}@bench.example.com", "last_name": f"顧客{i}"}) + "\n"
        for i in range(RECIPIENTS)
    )
    with httpx.Client(timeout=600, headers=auth) as client:
        imported = client.post(
            f"{people}/v1/customers/import",
            content=rows.encode(),
            headers={"Content-Type": "application/x-ndjson"},
        ).raise_for_status()
        assert imported.json()["inserted"] == RECIPIENTS, imported.text
        group = client.post(f"{people}/v1/groups", json={"name": "all"}).raise_for_status().json()
        members = "".join(
            json.dumps({"email": f"r{i}-{TAG}@bench.example.com"}) + "\n" for i in range(RECIPIENTS)
        )
        client.post(
            f"{people}/v1/groups/{group['id']}/members/import",
            content=members.encode(),
            headers={"Content-Type": "application/x-ndjson"},
        ).raise_for_status()
        campaign = (
            client.post(
                f"{composer}/v1/campaigns",
                json={
                    "subject": "{{ last_name }} 様 ベンチマーク",
                    "html_body": '<p>{{ last_name }} 様</p><p><a href="https://example.com/a">a</a></p>',
                    "text_body": "{{ last_name }} 様 https://example.com/a",
                    "recipients": {"include_group_ids": [group["id"]]},
                },
            )
            .raise_for_status()
            .json()
        )
        started = time.monotonic()
        client.post(f"{composer}/v1/campaigns/{campaign['id']}/send").raise_for_status()
        while True:
            progress = client.get(f"{composer}/v1/campaigns/{campaign['id']}/progress").json()
            if progress["state"] == "sent":
                elapsed = time.monotonic() - started
                assert progress["sent"] == RECIPIENTS, progress
                return elapsed
            if time.monotonic() - started > 1200:
                raise SystemExit(f"not sent after 20 minutes: {progress}")
            time.sleep(0.5)


async def drop_schemas(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for name in SERVICES:
            await conn.execute(f"DROP SCHEMA IF EXISTS benche2e_{TAG}_{name} CASCADE")
    finally:
        await conn.close()


def main() -> int:
    sink_port = free_port()
    sink = start_smtp_sink(sink_port)
    asyncio.run(create_topics(os.environ["KAFKA_BOOTSTRAP_SERVERS"], NAMESPACE))
    stack = Stack(sink_port)
    try:
        stack.start()
        seconds = run_campaign(stack, bootstrap(stack.env["composer"]))
        figures: dict[str, float | int] = {
            "e2e.recipients": RECIPIENTS,
            "e2e.seconds": round(seconds, 1),
            "e2e.msgs_per_s": round(RECIPIENTS / seconds),
            **stack.rss(),
        }
    finally:
        stack.stop()
        sink.terminate()
        asyncio.run(drop_schemas(os.environ["DATABASE_URL"]))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
