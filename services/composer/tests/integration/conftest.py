"""A composer running in-process on its own Kafka namespace and PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from composer import accounts
from composer.bootstrap import Ports
from composer.main import create_app
from composer.settings import Settings
from testkit.asgi import started


@dataclass
class Composer:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings
    ports: Ports

    async def tenant(self, company: str = "Acme KK") -> tuple[dict[str, str], str]:
        """A new tenant; returns the admin's auth header and the admin's user id."""
        _, user, key = await accounts.bootstrap(
            accounts.TenantInput(company_name=company, postal_address="1-1 Chiyoda, Tokyo"),
            accounts.UserInput(
                name=f"{company} admin", email=f"admin@{company[:4].lower()}.example"
            ),
            store=self.ports.store,
        )
        return {"Authorization": f"Bearer {key.api_key}"}, str(user.id)


def settings_for(stack, kafka_namespace: str, pg_schema: str, **extra: object) -> Settings:
    return Settings(
        kafka_bootstrap_servers=stack.kafka,
        database_url=stack.database_url,
        database_schema=pg_schema,
        kafka_namespace=kafka_namespace,
        token_secret="integration",
        release_interval=0.1,
        **extra,
    )


@pytest.fixture
async def composer(stack, kafka_namespace, pg_schema) -> AsyncIterator[Composer]:
    settings = settings_for(stack, kafka_namespace, pg_schema)
    async with started(create_app(settings)) as service, service.client("http://composer") as http:
        yield Composer(service.app, http, settings, service.ports)
