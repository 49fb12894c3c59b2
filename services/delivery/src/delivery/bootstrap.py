"""Builds delivery's ports from settings: the one place that connects to anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from delivery.adapters.mx import MxRouter, RelayRouter, resolver_for
from delivery.adapters.postgres import (
    PgCampaigns,
    PgInstances,
    PgLedger,
    PgReports,
    PgSuppressions,
)
from delivery.adapters.redis import RedisShaper
from delivery.adapters.smtp import SmtpMailer, SmtpOptions
from delivery.ports import (
    Campaigns,
    Instances,
    Ledger,
    Mailer,
    Reports,
    Router,
    Shaper,
    Suppressions,
)
from delivery.settings import Settings
from delivery.shaping import config as shaping_config
from delivery.shaping.config import Shaping
from delivery.shaping.local import Fallback, LocalShaper
from mailkit.keys import KeyVault
from mailkit.render import RenderConfig
from servicekit.backbone import Backbone, backbone
from servicekit.db import service_migrations
from servicekit.tokens import TokenCodec


@dataclass(frozen=True)
class Ports(Backbone):
    ledger: Ledger
    campaigns: Campaigns
    suppressions: Suppressions
    instances: Instances
    reports: Reports
    mailer: Mailer
    router: Router
    shaping: Shaping
    shaper: Shaper
    render: RenderConfig
    vault: KeyVault | None = None


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Ports]:
    async with (
        backbone(
            settings,
            service="delivery",
            schema=settings.database_schema,
            migrations=service_migrations(__file__),
            max_size=12,
        ) as core,
        Redis.from_url(settings.redis_url, socket_timeout=2.0) as redis,
    ):
        pool = core.database.pool
        shaping = load_shaping(settings)
        mailer = SmtpMailer(smtp_options(settings))
        yield core.extend(
            Ports,
            ledger=PgLedger(pool),
            campaigns=PgCampaigns(pool),
            suppressions=PgSuppressions(pool),
            instances=PgInstances(pool),
            reports=PgReports(pool),
            mailer=mailer,
            router=router(settings, mailer),
            shaping=shaping,
            shaper=shaper(settings, shaping, redis),
            render=render_config(settings),
            vault=key_vault(settings),
        )


def load_shaping(settings: Settings) -> Shaping:
    return shaping_config.load(settings.shaping_file or shaping_config.DEFAULT_FILE)


def shaper(settings: Settings, shaping: Shaping, redis: Redis) -> Shaper:
    ttl = shaping.queue.slot_ttl_seconds
    shared = RedisShaper(
        redis,
        prefix=settings.kafka_namespace + settings.redis_key_prefix,
        adaptive=shaping.adaptive,
        slot_ttl=ttl,
    )
    return Fallback(shared, LocalShaper(shaping.adaptive, slot_ttl=ttl))


def router(settings: Settings, mailer: SmtpMailer) -> Router:
    if settings.delivery_mode == "direct":
        return MxRouter(resolver_for(settings.dns_resolver), settings.direct_smtp_port)
    return RelayRouter(mailer.relay())


def smtp_options(settings: Settings) -> SmtpOptions:
    direct = settings.delivery_mode == "direct"
    return SmtpOptions(
        host=settings.smtp_host,
        port=settings.smtp_port,
        timeout=settings.smtp_timeout,
        use_tls=settings.smtp_use_tls and not direct,
        # Exchangers are reached by address: STARTTLS when offered, unverified (as MTAs do).
        starttls=None if direct else settings.smtp_starttls,
        validate_certs=settings.smtp_validate_certs and not direct,
        username="" if direct else settings.smtp_username,
        password="" if direct else settings.smtp_password.get_secret_value(),
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
