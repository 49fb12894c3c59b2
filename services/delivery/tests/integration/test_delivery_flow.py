"""One campaign through a real delivery: accepted, refused, deferred then accepted; the
ledger-based progress reaches completed=true exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import delivery_tests_support as support
from delivery_tests_harness import Bus, Sink, running, settings_for

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
        # Recipients before their campaign: held, not lost; the unsubscribe, learnt after
        # resolution, drops its recipient.
        await bus.publish([ok, hard, deferred, gone, unsubscribed])
        await asyncio.sleep(2)
        assert await sink.messages_to(ok.email) == []
        await bus.publish([c, support.audience(c, 4)])
        await bus.until(
            lambda seen: any(isinstance(e, DeliveryProgress) and e.completed for e in seen)
        )

    sent = {e.email for e in bus.of(MessageSent)}
    assert sent == {ok.email, deferred.email}
    (bounce,) = bus.of(Bounced)
    assert (bounce.email, bounce.kind, bounce.smtp_code, bounce.enhanced_status) == (
        hard.email,
        "hard",
        550,
        "5.1.1",
    )
    final = [e for e in bus.of(DeliveryProgress) if e.completed]
    assert len({e.event_id for e in final}) == 1
    assert (final[0].total, final[0].sent, final[0].bounced, final[0].suppressed) == (4, 2, 1, 1)
    assert len(await sink.messages_to(ok.email)) == 1
    assert len(await sink.messages_to(deferred.email)) == 1
    assert await sink.messages_to(hard.email) == []
    assert await sink.messages_to(gone.email) == []
