"""Builds delivery's ports from settings: the one place that connects to anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from delivery.adapters.postgres import PgCampaigns, PgInstances, PgLedger, PgSuppressions
from delivery.adapters.smtp import SmtpMailer, SmtpOptions
from delivery.ports import Campaigns, Instances, Ledger, Mailer, Suppressions
from delivery.settings import Settings
from mailkit.keys import KeyVault
from mailkit.render import RenderConfig
from servicekit import outbox
from servicekit.db import Database, database
from servicekit.kafka import Bus, kafka_bus
from servicekit.outbox import Relay
from servicekit.tokens import TokenCodec

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class Ports:
    database: Database
    bus: Bus
    ledger: Ledger
    campaigns: Campaigns
    suppressions: Suppressions
    instances: Instances
    mailer: Mailer
    relay: Relay
    render: RenderConfig
    vault: KeyVault | None = None


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with (
        database(
            settings.database_url,
            settings.database_schema,
            MIGRATIONS,
            library=outbox.MIGRATIONS,
            max_size=12,
        ) as db,
        kafka_bus(settings, service="delivery") as bus,
    ):
        pool = db.pool
        yield Ports(
            database=db,
            bus=bus,
            ledger=PgLedger(pool),
            campaigns=PgCampaigns(pool),
            suppressions=PgSuppressions(pool),
            instances=PgInstances(pool),
            mailer=SmtpMailer(smtp_options(settings)),
            relay=outbox.OutboxRelay(pool, bus),
            render=render_config(settings),
            vault=key_vault(settings),
        )


def smtp_options(settings: Settings) -> SmtpOptions:
    return SmtpOptions(
        host=settings.smtp_host,
        port=settings.smtp_port,
        timeout=settings.smtp_timeout,
        use_tls=settings.smtp_use_tls,
        starttls=settings.smtp_starttls,
        validate_certs=settings.smtp_validate_certs,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        helo_name=settings.smtp_helo_name,
        max_messages_per_connection=settings.smtp_max_messages_per_connection,
    )


def render_config(settings: Settings) -> RenderConfig:
    return RenderConfig(
        tracking_base_url=settings.tracking_base_url,
        bounce_domain=settings.bounce_domain,
        codec=TokenCodec.from_secret(settings.token_secret.get_secret_value()),
        message_id_domain=settings.message_id_domain,
    )


def key_vault(settings: Settings) -> KeyVault | None:
    secret = settings.signing_keys_secret.get_secret_value()
    return KeyVault(secret) if secret else None
