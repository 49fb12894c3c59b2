"""Wait until every topic of contracts.topics exists, then exit 0.

The init container of each service runs this (mounted from ConfigMap bulkmail-scripts), so
no service starts before its topics: they are created by the topics Job
(components/create-topics) or by Strimzi KafkaTopic resources (overlays/*/kafka-topics).
Reads KAFKA_BOOTSTRAP_SERVERS and KAFKA_NAMESPACE like the services; gives up with exit 1
after WAIT_FOR_TOPICS_SECONDS (default 600), and Kubernetes starts it again.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterable

from contracts.topics import all_topics


def missing(existing: Iterable[str], namespace: str = "") -> list[str]:
    """Names of the platform's topics (with the namespace prefix) not in `existing`."""
    return sorted({namespace + t.name for t in all_topics()} - set(existing))


async def list_topics(bootstrap: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bulkmail-wait-for-topics")
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def wait(bootstrap: str, namespace: str, give_up_after: float, interval: float = 3.0) -> int:
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            left = missing(await list_topics(bootstrap), namespace)
            reason = f"missing topics: {', '.join(left)}"
        except Exception as exc:  # Kafka not answering yet: try again
            left, reason = ["?"], f"kafka at {bootstrap}: {exc!r}"
        if not left:
            print(f"all {len(all_topics())} topics exist", flush=True)
            return 0
        if time.monotonic() > deadline:
            print(f"gave up after {give_up_after:.0f} s; {reason}", file=sys.stderr, flush=True)
            return 1
        print(f"waiting: {reason}", flush=True)
        await asyncio.sleep(interval)


def main() -> int:
    return asyncio.run(
        wait(
            os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            os.environ.get("KAFKA_NAMESPACE", ""),
            float(os.environ.get("WAIT_FOR_TOPICS_SECONDS", "600")),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
