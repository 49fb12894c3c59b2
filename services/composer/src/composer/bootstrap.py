"""Builds the composer's ports from settings: the one place that connects to anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

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
from servicekit.auth import KeyVerifier
from servicekit.backbone import Backbone, backbone
from servicekit.clock import SystemClock
from servicekit.db import service_migrations
from servicekit.peers import peer_client

MIGRATIONS = service_migrations(__file__)


@dataclass(frozen=True)
class Ports(Backbone):
    store: Store
    keys: KeyVerifier
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
        backbone(
            settings, service="composer", schema=settings.database_schema, migrations=MIGRATIONS
        ) as core,
        peer_client(settings.recipients_url, timeout=10.0) as recipients,
    ):
        yield core.extend(
            Ports,
            store=PostgresStore(core.database.pool),
            keys=PostgresKeyVerifier(core.database.pool),
            clock=SystemClock(),
            audience=RecipientsApi(recipients),
            previewer=Previewer(settings.tracking_base_url),
            sending=sending_tools(settings),
            logins=PostgresLogins(core.database.pool),
            hasher=Argon2Hasher(),
        )
