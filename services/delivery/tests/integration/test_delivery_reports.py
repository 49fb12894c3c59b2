"""Refusals and inbound reports through a real delivery: `554 5.7.1` is blocked and
registers nobody; a DSN naming another address changes nothing, one for the message's own
address bounces it (once); an ARF complaint makes it complained."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from delivery_tests_harness import Bus, done, running, settings_for, sink_process

import testkit.events as support
from contracts import (
    Bounced,
    Complained,
    DeliveryProgress,
    MessageBlocked,
    ReportedRecipient,
    ReportReceived,
)


async def reports_counted(service: Any, outcome: str, at_least: int, within: float = 30) -> None:
    """Wait until delivery's metric counts this many reports with this outcome."""
    deadline = time.monotonic() + within
    line = f'delivery_reports_total{{kind="dsn",outcome="{outcome}"}}'
    async with service.client() as client:
        while time.monotonic() < deadline:
            metrics = (await client.get("/metrics")).text
            values = [float(x.split()[-1]) for x in metrics.splitlines() if x.startswith(line)]
            if values and values[0] >= at_least:
                return
            await asyncio.sleep(0.2)
    raise AssertionError(f"no {at_least} reports {outcome}")


def failed_block(email: str, status: str = "5.1.1") -> ReportedRecipient:
    return ReportedRecipient(
        email=email, action="failed", status=status, smtp_code=550, diagnostic="user unknown"
    )


async def test_blocks_dsns_and_complaints(
    stack: Any, kafka_namespace: str, pg_schema: str, bus: Bus, tmp_path: Path
) -> None:
    domain = support.unique_domain()
    c = support.campaign()
    kept, dsn_other, dsn_own, complains = (
        support.recipient(c, f"{name}@{domain}") for name in ("kept", "other", "own", "arf")
    )
    blocked = [support.recipient(c, f"block{i}@{domain}") for i in range(3)]
    everyone = [kept, dsn_other, dsn_own, complains, *blocked]
    async with sink_process(tmp_path / "sink") as sink:
        settings = settings_for(
            stack, kafka_namespace, pg_schema, smtp_host="127.0.0.1", smtp_port=sink.smtp_port
        )
        async with running(settings) as service:
            await bus.stream(c, everyone)
            await bus.until(done(c.campaign_id, len(everyone)))
            sent = bus.latest()
            # Anyone can mail a return path: a DSN naming other addresses of the tenant.
            forged = ReportReceived(
                tenant_id=c.tenant_id,
                message_id=dsn_other.message_id,
                kind="dsn",
                recipients=[failed_block(f"ceo@{domain}"), failed_block(kept.email)],
            )
            await bus.publish([forged])
            await reports_counted(service, "other_address", 1)
            own = forged.model_copy(
                update={
                    "message_id": dsn_own.message_id,
                    "recipients": [failed_block(dsn_own.email)],
                }
            )
            arf = ReportReceived(
                tenant_id=c.tenant_id,
                message_id=complains.message_id,
                kind="arf",
                complained_by=complains.email,
                feedback_type="abuse",
            )
            await bus.publish([own, own, arf])  # the DSN twice: counted once
            await bus.until(lambda _: bus.latest().complained == 1 and bus.latest().bounced == 1)
            await reports_counted(service, "already_settled", 1)
            await asyncio.sleep(1)  # anything else the reports would have caused
        caught = await sink.caught()

    assert (sent.sent, sent.blocked, sent.bounced) == (4, 3, 0)
    assert {e.email for e in bus.of(MessageBlocked)} == {r.email for r in blocked}
    assert all(caught[r.email] == 0 for r in blocked)
    bounces = bus.of(Bounced)
    assert [(b.email, b.source, b.kind, b.customer_id) for b in bounces] == [
        (dsn_own.email, "dsn", "hard", dsn_own.customer_id)
    ], "only the message's own address, once; the blocked registered nobody"
    (complaint,) = bus.of(Complained)
    assert (complaint.email, complaint.customer_id) == (complains.email, complains.customer_id)
    final = bus.latest()
    assert (final.sent, final.bounced, final.complained, final.blocked) == (2, 1, 1, 3)
    sequences = [p.sequence for p in bus.of(DeliveryProgress)]
    assert sequences == sorted(sequences)
