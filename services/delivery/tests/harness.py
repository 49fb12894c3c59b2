"""Helpers of the delivery integration tests: delivery in-process on a
namespace and schema, a Kafka bus, a dev sink of the test's own (a process that can be
killed and started again on its ports) and its API, and a small DNS server for direct
delivery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import httpx
from aiokafka import AIOKafkaConsumer

import testkit.events as support
from contracts import DeliveryProgress, Event, decode_any
from delivery.main import create_app
from delivery.settings import Settings
from testkit.asgi import Started, started
from testkit.kafka import publish, publish_stream
from testkit.processes import free_port

ROOT = Path(__file__).resolve().parents[3]


def settings_for(stack: Any, namespace: str, schema: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": stack.kafka,
        "database_url": stack.database_url,
        "smtp_host": stack.smtp_host,
        "smtp_port": stack.smtp_port,
        "tracking_base_url": support.TRACKING,
        "token_secret": support.TOKEN_SECRET,
        "kafka_namespace": namespace,
        "database_schema": schema,
        "retry_base_seconds": 0.5,
        "heartbeat_seconds": 0.5,
        "owner_timeout_seconds": 3.0,
        "progress_interval_seconds": 0.3,
        "kafka_session_timeout_ms": 6000,
        "smtp_concurrency": 4,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Started]:
    async with started(create_app(settings)) as service:
        yield service


def finals(progress: DeliveryProgress) -> int:
    """Messages of the campaign in a final state (deferred ones are not)."""
    p = progress
    return (
        p.sent + p.bounced + p.soft_bounced + p.failed + p.unknown + p.suppressed
        + p.blocked + p.complained
    )  # fmt: skip


def done(campaign_id: object, total: int) -> Callable[[list[Event]], bool]:
    """A condition: some progress report of the campaign counts `total` final messages."""
    return lambda seen: any(
        isinstance(e, DeliveryProgress) and e.campaign_id == campaign_id and finals(e) >= total
        for e in seen
    )


class Bus:
    """Publishes into a namespace and reads what delivery published there."""

    def __init__(self, bootstrap: str, namespace: str) -> None:
        self._bootstrap = bootstrap
        self.namespace = namespace
        self.seen: list[Event] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        topics = [
            "message.sent",
            "message.bounced",
            "message.blocked",
            "customer.complained",
            "delivery.progress",
        ]
        self._consumer = AIOKafkaConsumer(
            *(self.namespace + t for t in topics),
            bootstrap_servers=self._bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def publish(self, events: Iterable[Event]) -> None:
        await publish(self._bootstrap, self.namespace, events)

    async def stream(self, campaign: Event, recipients: Iterable[Event]) -> None:
        await publish_stream(self._bootstrap, self.namespace, campaign, recipients)

    def latest(self, kind: type[DeliveryProgress] = DeliveryProgress) -> DeliveryProgress:
        return max(self.of(kind), key=lambda e: e.sequence)

    async def until(self, condition: Callable[[list[Event]], bool], timeout: float = 60) -> None:
        assert self._consumer is not None
        deadline = time.monotonic() + timeout
        while not condition(self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; saw {[type(e).__name__ for e in self.seen]}")
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                self.seen.extend(decode_any(r.value) for r in records)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.seen if isinstance(e, kind)]


class Sink:
    def __init__(self, api: str) -> None:
        self._client = httpx.AsyncClient(base_url=api, timeout=10)

    async def messages_to(self, address: str) -> list[dict[str, Any]]:
        """Summaries of every caught mail for `address`."""
        response = await self._client.get("/messages", params={"to": address, "limit": 1000})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    async def raw(self, message_id: int) -> bytes:
        return (await self._client.get(f"/messages/{message_id}/raw")).content

    async def close(self) -> None:
        await self._client.aclose()


class SinkProcess:
    """A dev sink of the test's own, as a process: its policy set over its HTTP API; it
    can be killed and started again on the same ports, keeping the mail it caught."""

    def __init__(self, store: Path, **flags: Any) -> None:
        self.smtp_port, self.http_port = free_port(), free_port()
        self._store = store
        self._flags = flags
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "devsink", "--host", "127.0.0.1",
            "--smtp-port", str(self.smtp_port), "--http-port", str(self.http_port),
            "--store-dir", str(self._store),
        ]  # fmt: skip
        for name, value in self._flags.items():
            command += [f"--{name.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().decode()
        assert first.startswith("devsink: smtp"), first

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    async def policy(self, **fields: Any) -> None:
        async with httpx.AsyncClient(base_url=self.api, timeout=10) as client:
            (await client.put("/policy", json=fields)).raise_for_status()

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.api, timeout=10) as client:
            result: dict[str, Any] = (await client.get("/stats")).raise_for_status().json()
            return result

    async def caught(self) -> Counter[str]:
        """How many mails the sink holds per recipient."""
        counts: Counter[str] = Counter()
        after = 0
        async with httpx.AsyncClient(base_url=self.api, timeout=30) as client:
            while page := (await client.get("/messages", params={"after": after})).json():
                for message in page:
                    counts.update(message["rcpt_to"])
                after = page[-1]["id"]
        return counts


@asynccontextmanager
async def sink_process(store: Path, **flags: Any) -> AsyncIterator[SinkProcess]:
    sink = SinkProcess(store, **flags)
    sink.start()
    try:
        yield sink
    finally:
        sink.kill()


class TinyDns(asyncio.DatagramProtocol):
    """Answers queries from a zone of (name, type) -> records, for direct delivery: a
    known name without records of the type asked is an empty answer, others NXDOMAIN."""

    def __init__(self, zone: Mapping[tuple[str, str], list[str]]) -> None:
        self._zone = {(n.lower(), t): r for (n, t), r in zone.items()}
        self._names = {n for n, _ in self._zone}
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # asyncio's or uvloop's: both have sendto

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        records = self._zone.get((name, dns.rdatatype.to_text(question.rdtype)))
        if records:
            response.answer.append(
                dns.rrset.from_text(question.name, 60, "IN", question.rdtype, *records)
            )
        elif name not in self._names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        self._transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def tiny_dns(zone: Mapping[tuple[str, str], list[str]]) -> AsyncIterator[str]:
    """A DNS server on a free UDP port; yields `127.0.0.1:<port>` for DNS_RESOLVER."""
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: TinyDns(zone), local_addr=("127.0.0.1", 0)
    )
    try:
        yield f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    finally:
        transport.close()
