"""One campaign through a real delivery: accepted, refused, deferred then accepted,
suppressed; the progress reports add up to the whole audience."""

from __future__ import annotations

import asyncio
from typing import Any

from delivery_tests_harness import Bus, Sink, done, running, settings_for

import testkit.events as support
from contracts import Bounced, DeliveryProgress, MessageSent, Unsubscribed


async def test_sent_bounced_deferred_suppressed_then_complete(
    stack: Any, kafka_namespace: str, pg_schema: str, bus: Bus, sink: Sink
) -> None:
    domain = support.unique_domain()
    c = support.campaign()
    ok = support.recipient(c, f"ok@{domain}")
    hard = support.recipient(c, f"bounce-hard@{domain}")
    deferred = support.recipient(c, f"defer-me@{domain}")
    gone = support.recipient(c, f"gone@{domain}")
    unsubscribed = Unsubscribed(
        tenant_id=c.tenant_id, customer_id=gone.customer_id, method="one_click"
    )
    settings = settings_for(stack, kafka_namespace, pg_schema)
    async with running(settings):
        # The unsubscribe, learnt after resolution, drops its recipient.
        await bus.publish([unsubscribed])
        await asyncio.sleep(1)
        await bus.stream(c, [ok, hard, deferred, gone])
        # The retried message's MessageSent comes through the outbox, on its own time.
        finished = done(c.campaign_id, 4)
        await bus.until(lambda seen: finished(seen) and len(bus.of(MessageSent)) >= 2)

    sent = {e.email for e in bus.of(MessageSent)}
    assert sent == {ok.email, deferred.email}
    (bounce,) = bus.of(Bounced)
    assert (bounce.email, bounce.kind, bounce.smtp_code, bounce.enhanced_status) == (
        hard.email,
        "hard",
        550,
        "5.1.1",
    )
    final = bus.latest()
    assert (final.sent, final.bounced, final.suppressed, final.deferred) == (2, 1, 1, 0)
    sequences = [e.sequence for e in bus.of(DeliveryProgress)]
    assert len(set(sequences)) == len(sequences), "each change reported once"
    assert len(await sink.messages_to(ok.email)) == 1
    assert len(await sink.messages_to(deferred.email)) == 1
    assert await sink.messages_to(hard.email) == []
    assert await sink.messages_to(gone.email) == []
