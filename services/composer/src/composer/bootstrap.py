"""Builds the composer's ports from settings: the one place that connects to anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from composer.adapters.argon2 import Argon2Hasher
from composer.adapters.dns import DnsResolver
from composer.adapters.logins import PostgresLogins
from composer.adapters.postgres import PostgresKeyVerifier, PostgresStore
from composer.adapters.recipients import RecipientsApi
from composer.auth import Hasher, Logins
from composer.domain_handlers import SendingTools
from composer.ports import Audience, Clock, Store
from composer.previews import Previewer
from composer.sending_domains import DnsPolicy
from composer.settings import Settings
from mailkit.keys import KeyVault
from servicekit import outbox
from servicekit.auth import KeyVerifier
from servicekit.clock import SystemClock
from servicekit.db import Database, database
from servicekit.kafka import Bus, kafka_bus
from servicekit.outbox import Relay
from servicekit.peers import peer_client

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class Ports:
    database: Database
    bus: Bus
    store: Store
    keys: KeyVerifier
    relay: Relay
    clock: Clock
    audience: Audience
    previewer: Previewer
    sending: SendingTools
    logins: Logins
    hasher: Hasher


def sending_tools(settings: Settings) -> SendingTools:
    return SendingTools(
        dns=DnsResolver(settings.dns_resolver, settings.dns_timeout),
        vault=KeyVault(settings.signing_keys_secret.get_secret_value()),
        policy=DnsPolicy(
            spf_include=settings.spf_include,
            bounce_subdomain=settings.bounce_subdomain,
            bounce_host=settings.bounce_host,
            dmarc_rua=settings.dmarc_rua,
        ),
    )


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with (
        database(
            settings.database_url, settings.database_schema, MIGRATIONS, library=outbox.MIGRATIONS
        ) as db,
        kafka_bus(settings, service="composer") as bus,
        peer_client(settings.recipients_url, timeout=10.0) as recipients,
    ):
        yield Ports(
            database=db,
            bus=bus,
            store=PostgresStore(db.pool),
            keys=PostgresKeyVerifier(db.pool),
            relay=outbox.OutboxRelay(db.pool, bus),
            clock=SystemClock(),
            audience=RecipientsApi(recipients),
            previewer=Previewer(settings.tracking_base_url),
            sending=sending_tools(settings),
            logins=PostgresLogins(db.pool),
            hasher=Argon2Hasher(),
        )
