"""Dead letters: a record no consumer can decode is copied to `<topic>.dlt`, with why and
where it came from in its headers, so that the consumer goes on and a person can look."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import Counter

from contracts.topics import dead_letter
from servicekit.kafka.producer import BatchSender, Record

log = logging.getLogger(__name__)

DEAD_LETTERS = Counter("dead_letters_total", "Records parked on a dead-letter topic", ["topic"])


class DeadLetters:
    def __init__(self, sender: BatchSender) -> None:
        self._sender = sender

    async def park(self, record: Any, topic: str, reason: str) -> None:
        """Copy one consumed record of the platform topic `topic` to its dead-letter topic;
        returns once Kafka acknowledged the copy."""
        reason = reason.replace("\n", " ")[:500]
        DEAD_LETTERS.labels(topic).inc()
        log.warning("dead-lettering %s[%s]@%s: %s", topic, record.partition, record.offset, reason)
        headers = (
            ("x-error", reason.encode()),
            ("x-source-topic", topic.encode()),
            ("x-source-partition", str(record.partition).encode()),
            ("x-source-offset", str(record.offset).encode()),
        )
        await self._sender.send_and_wait(
            [Record(dead_letter(topic), None, record.value or b"", headers, partition=0)]
        )
