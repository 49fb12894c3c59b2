"""Topics and consumer groups: creating the platform's topics, and removing a namespace's
copy of them (tests and benchmarks each work in a namespace of their own)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

from contracts.topics import all_topics


@asynccontextmanager
async def admin_client(bootstrap_servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="bulkmail-admin")
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


#: Replicas of a partition, at most; with `min_insync(3)` = 2 an acknowledged record
#: (acks=all) survives the loss of any one broker and writes go on without it.
MAX_REPLICATION = 3


def replication_for(brokers: int) -> int:
    """The replication factor on a cluster of `brokers`: every broker up to three."""
    return max(1, min(brokers, MAX_REPLICATION))


def min_insync(replication: int) -> int:
    """Replicas that must have a record before it is acknowledged: all but one, at most two."""
    return 2 if replication >= 3 else 1


async def create_topics(
    bootstrap_servers: str,
    namespace: str = "",
    *,
    replication: int | None = None,
    brokers: int | None = None,
) -> list[str]:
    """Create the missing topics (named `namespace` + name); returns those created.

    Without `replication`, it follows the cluster's size (`replication_for`). With
    `brokers`, fails unless that many brokers are up: a cluster still starting would
    otherwise get topics with too few replicas (or none at all)."""
    async with admin_client(bootstrap_servers) as admin:
        alive = len((await admin.describe_cluster())["brokers"])
        if brokers is not None and alive < brokers:
            raise RuntimeError(f"{alive} of {brokers} Kafka brokers are up")
        factor = replication if replication is not None else replication_for(alive)
        existing = set(await admin.list_topics())
        missing = [t for t in all_topics() if namespace + t.name not in existing]
        if missing:
            config = {"min.insync.replicas": str(min_insync(factor))}
            # Another `make up` may create them at the same moment; that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(namespace + t.name, t.partitions, factor, topic_configs=config)
                        for t in missing
                    ],
                    timeout_ms=30_000,
                )
        created = [namespace + t.name for t in missing]
        await _wait_for_leaders(admin, created)
        return created


async def partition_leaders(bootstrap_servers: str, topic: str) -> dict[int, int]:
    """Partition -> the node id of its leader (-1 while it has none)."""
    async with admin_client(bootstrap_servers) as admin:
        (described,) = await admin.describe_topics([topic])
        return {p["partition"]: p["leader"] for p in described["partitions"]}


async def delete_namespace(bootstrap_servers: str, namespace: str) -> tuple[list[str], list[str]]:
    """Delete every topic and consumer group whose name starts with `namespace`; returns
    (topics, groups) deleted."""
    if not namespace:
        raise ValueError("refusing to delete the platform's own topics (empty namespace)")
    async with admin_client(bootstrap_servers) as admin:
        groups = [
            g["group_id"] if isinstance(g, dict) else g[0]
            for g in await admin.list_consumer_groups()
        ]
        mine = [g for g in groups if g.startswith(namespace)]
        if mine:
            await _delete_groups(admin, mine)
        topics = [t for t in await admin.list_topics() if t.startswith(namespace)]
        if topics:
            await admin.delete_topics(topics, timeout_ms=30_000)
        return topics, mine


async def namespace_topics(bootstrap_servers: str, namespace: str) -> list[str]:
    async with admin_client(bootstrap_servers) as admin:
        return [t for t in await admin.list_topics() if t.startswith(namespace)]


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


class _DeleteGroupsResponseV1(Response):  # type: ignore[misc]
    API_KEY = 42
    API_VERSION = 1
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", Array(("group_id", String("utf-8")), ("error_code", Int16))),
    )


class _DeleteGroupsStructV1(RequestStruct):  # type: ignore[misc]
    API_KEY = 42
    API_VERSION = 1
    RESPONSE_TYPE = _DeleteGroupsResponseV1
    SCHEMA = Schema(("groups_names", Array(String("utf-8"))))


class _DeleteGroups(Request[_DeleteGroupsStructV1]):  # type: ignore[misc]
    """DeleteGroups (KIP-229): aiokafka's admin client has no call for it."""

    API_KEY = 42

    def __init__(self, groups: list[str]) -> None:
        self._groups = groups

    def build(self, request_struct_class: type[_DeleteGroupsStructV1]) -> _DeleteGroupsStructV1:
        return request_struct_class(self._groups)


async def _delete_groups(admin: AIOKafkaAdminClient, groups: list[str]) -> None:
    by_coordinator: dict[int, list[str]] = {}
    for group in groups:
        by_coordinator.setdefault(await admin.find_coordinator(group), []).append(group)
    for node, names in by_coordinator.items():
        await admin._send_request_to_node(node, _DeleteGroups(names))
