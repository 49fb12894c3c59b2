"""Operator commands for the Kafka side.

python -m servicekit.admin create-topics   create every topic of contracts.topics
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.topics import all_topics


async def create_topics(bootstrap: str, namespace: str = "") -> list[str]:
    """Create the missing topics (named `namespace` + name); returns those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bulkmail-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in all_topics() if namespace + t.name not in existing]
        if missing:
            # Another `make up` may create them at the same moment; that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(namespace + t.name, t.partitions, 1) for t in missing],
                    timeout_ms=30_000,
                )
        created = [namespace + t.name for t in missing]
        await _wait_for_leaders(admin, created)
        return created
    finally:
        await admin.close()


def _has_leaders(topic: dict[str, Any]) -> bool:
    partitions = topic["partitions"]
    return (
        topic["error_code"] == 0 and bool(partitions) and all(p["leader"] >= 0 for p in partitions)
    )


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """New partitions need a moment to elect a leader; producing before that fails."""
    deadline = asyncio.get_running_loop().time() + 30
    while names and asyncio.get_running_loop().time() < deadline:
        described = await admin.describe_topics(names)
        if all(_has_leaders(t) for t in described):
            return
        await asyncio.sleep(0.2)
    if names:
        raise TimeoutError(f"topics without leaders after 30 s: {names}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["create-topics"])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--namespace", default=os.environ.get("KAFKA_NAMESPACE", ""))
    args = parser.parse_args(argv)
    created = asyncio.run(create_topics(args.bootstrap, args.namespace))
    print(f"topics created: {len(created)}" + (f" ({', '.join(created)})" if created else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
