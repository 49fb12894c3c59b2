"""Builds the tracking service's ports from settings: the one place that connects."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from contracts import topics
from servicekit.db import Database, database, service_migrations
from servicekit.kafka import producing
from servicekit.tokens import TokenCodec
from tracking.adapters.kafka import GroupCommitPublisher
from tracking.adapters.postgres import PostgresMailStore
from tracking.ports import MailStore, Publisher
from tracking.settings import Settings


@dataclass(frozen=True)
class Ports:
    database: Database
    publisher: Publisher
    store: MailStore
    tokens: TokenCodec
    #: Seconds since the epoch: hits are stamped and classified with it.
    clock: Callable[[], float] = time.time


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with (
        database(
            settings.database_url,
            settings.database_schema,
            service_migrations(__file__),
            min_size=1,
            max_size=4,
        ) as db,
        producing(
            settings.kafka_bootstrap_servers,
            client_id=f"tracking-{settings.instance_id}".rstrip("-"),
            namespace=settings.kafka_namespace,
            linger_ms=0,  # batching happens in the publisher, while a request is in flight
            request_timeout_ms=settings.kafka_publish_timeout_ms,
        ) as sender,
    ):
        for topic in (topics.OPENED, topics.CLICKED, topics.UNSUBSCRIBED, topics.REPORT_RECEIVED):
            await sender.partitions(topic)  # learnt now, not on the first hit
        publisher = GroupCommitPublisher(sender)
        try:
            yield Ports(
                database=db,
                publisher=publisher,
                store=PostgresMailStore(db.pool),
                tokens=TokenCodec.from_secret(settings.token_secret.get_secret_value()),
            )
        finally:
            await publisher.drain()
