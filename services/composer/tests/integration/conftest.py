"""A composer running in-process on its own Kafka namespace and PostgreSQL schema."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from composer import accounts
from composer.bootstrap import Ports
from composer.main import create_app
from composer.settings import Settings
from testkit import dns
from testkit.asgi import started


@dataclass
class Composer:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings
    ports: Ports
    dns: dns.DnsServer

    async def tenant(
        self, company: str = "Acme KK", *, verified: bool = True
    ) -> tuple[dict[str, str], str]:
        """A new tenant whose admin's domain is published and verified (unless told not
        to); returns the admin's auth header and the admin's user id."""
        _, user, key = await accounts.bootstrap(
            accounts.TenantInput(company_name=company, postal_address="1-1 Chiyoda, Tokyo"),
            accounts.UserInput(
                name=f"{company} admin", email=f"admin@{company[:4].lower()}.example"
            ),
            store=self.ports.store,
            vault=self.ports.sending.vault,
        )
        headers = {"Authorization": f"Bearer {key.api_key}"}
        if verified:
            [domain] = (await self.http.get("/v1/sending-domains", headers=headers)).json()
            await dns.publish(domain["records"], self.dns.control)
            checked = await self.http.post(
                f"/v1/sending-domains/{domain['id']}/verify", headers=headers
            )
            assert checked.json()["status"] == "verified", checked.text
        return headers, str(user.id)


SIGNING_KEYS_SECRET = "integration-signing-keys-secret-0123456789"


@pytest.fixture(scope="session")
async def dns_server() -> AsyncIterator[dns.DnsServer]:
    """The stack's DNS server when `.local/env` names it, else a private unbound."""
    if os.environ.get("DNS_RESOLVER") and os.environ.get("DNS_CONTROL"):
        yield dns.DnsServer(os.environ["DNS_RESOLVER"], os.environ["DNS_CONTROL"])
        return
    async with dns.running_unbound() as server:
        yield server


def settings_for(stack, kafka_namespace: str, pg_schema: str, **extra: object) -> Settings:
    return Settings(
        kafka_bootstrap_servers=stack.kafka,
        database_url=stack.database_url,
        database_schema=pg_schema,
        kafka_namespace=kafka_namespace,
        token_secret="integration",
        signing_keys_secret=SIGNING_KEYS_SECRET,
        release_interval=0.1,
        **extra,
    )


@pytest.fixture
async def composer(stack, kafka_namespace, pg_schema, dns_server) -> AsyncIterator[Composer]:
    settings = settings_for(
        stack, kafka_namespace, pg_schema, dns_resolver=dns_server.resolver, dns_timeout=2.0
    )
    async with started(create_app(settings)) as service, service.client("http://composer") as http:
        yield Composer(service.app, http, settings, service.ports, dns_server)
