"""Builds the recipients service's ports from settings: the one place that connects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from recipients.adapters.audience import PostgresAudience, PostgresAudienceCounter
from recipients.adapters.composer import ComposerStaff
from recipients.adapters.importer import PostgresImporter
from recipients.adapters.kafka import KafkaRecipientStream
from recipients.adapters.postgres import PostgresCustomers, PostgresGroups, PostgresResolutions
from recipients.adapters.suppressions import PostgresSuppressions
from recipients.ports import (
    Audience,
    AudienceCounter,
    Clock,
    Customers,
    Groups,
    Importer,
    RecipientSink,
    Resolutions,
    Staff,
    Suppressions,
)
from recipients.settings import Settings
from recipients.textstream import Limits
from servicekit.auth import KeyVerifier, RemoteKeyVerifier
from servicekit.backbone import Backbone, backbone
from servicekit.clock import SystemClock
from servicekit.db import service_migrations
from servicekit.kafka import producing
from servicekit.peers import peer_client

MIGRATIONS = service_migrations(__file__)


@dataclass(frozen=True)
class Ports(Backbone):
    customers: Customers
    groups: Groups
    importer: Importer
    audience: Audience
    audience_counter: AudienceCounter
    resolutions: Resolutions
    suppressions: Suppressions
    sink: RecipientSink
    keys: KeyVerifier
    staff: Staff
    clock: Clock
    import_limits: Limits


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with (
        backbone(
            settings, service="recipients", schema=settings.database_schema, migrations=MIGRATIONS
        ) as core,
        # The recipient stream has a producer of its own: large, compressed batches.
        producing(
            settings.kafka_bootstrap_servers,
            client_id="recipients-audience",
            namespace=settings.kafka_namespace,
            max_batch_size=settings.recipient_batch_bytes,
            compression_type=settings.recipient_compression,
            linger_ms=0,
        ) as stream,
        # One client to the composer for API keys and users (owners of customers).
        peer_client(settings.composer_url, timeout=5.0) as composer,
    ):
        pool = core.database.pool
        yield core.extend(
            Ports,
            customers=PostgresCustomers(pool),
            groups=PostgresGroups(pool),
            importer=PostgresImporter(
                pool,
                listed_rejects=settings.import_listed_rejects,
                max_owners=settings.import_max_owners,
            ),
            audience=PostgresAudience(pool),
            audience_counter=PostgresAudienceCounter(pool),
            resolutions=PostgresResolutions(pool),
            suppressions=PostgresSuppressions(pool),
            sink=KafkaRecipientStream(stream),
            keys=RemoteKeyVerifier(settings.composer_url, client=composer),
            staff=ComposerStaff(composer),
            clock=SystemClock(),
            import_limits=settings.import_limits(),
        )
