"""A recipients service running in-process on its own Kafka namespace and PostgreSQL schema,
plus helpers to publish its input events and read its output topics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import recipients_tests_fakes as fakes
from fastapi import FastAPI

from contracts import Event
from recipients import bootstrap
from recipients.bootstrap import Ports
from recipients.main import create_app
from recipients.settings import Settings
from testkit.asgi import started
from testkit.kafka import publish, read_events
from testkit.sandbox import kafka_namespace, pg_schema


def settings_for(stack: Any, kafka_namespace: str, pg_schema: str, **extra: Any) -> Settings:
    return Settings(
        kafka_bootstrap_servers=stack.kafka,
        database_url=stack.database_url,
        database_schema=pg_schema,
        kafka_namespace=kafka_namespace,
        **extra,
    )


@dataclass
class Service:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings
    keys: fakes.FakeKeyVerifier
    staff: fakes.FakeStaff
    ports: Ports

    def owner_for(self, auth: dict[str, str]) -> str:
        """A new user of the tenant of `auth`, to own customers."""
        return str(self.staff.add(self.keys.principal(auth).tenant_id))

    @property
    def namespace(self) -> str:
        return self.settings.kafka_namespace

    async def publish(self, *events: Event) -> None:
        await publish(self.settings.kafka_bootstrap_servers, self.namespace, events)

    async def read(
        self, topic: str, *, until: Callable[[list[Event]], bool], **options: Any
    ) -> list[Event]:
        return await read_events(
            self.settings.kafka_bootstrap_servers, self.namespace + topic, until=until, **options
        )


@asynccontextmanager
async def private_namespace_and_schema(stack: Any) -> AsyncIterator[tuple[str, str]]:
    """Like the root fixtures `kafka_namespace` and `pg_schema`, for longer-lived fixtures."""
    async with kafka_namespace(stack.kafka) as namespace, pg_schema(stack.database_url) as schema:
        yield namespace, schema


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Service]:
    """The service from its real ports, but for API keys and the composer's users: those a
    test hands out."""
    keys, staff = fakes.FakeKeyVerifier(), fakes.FakeStaff()

    @asynccontextmanager
    async def build(settings: Settings) -> AsyncIterator[Ports]:
        async with bootstrap.build(settings) as ports:
            yield replace(ports, keys=keys, staff=staff)

    async with AsyncExitStack() as stack:
        service = await stack.enter_async_context(started(create_app(settings, build=build)))
        http = await stack.enter_async_context(service.client("http://recipients"))
        yield Service(service.app, http, settings, keys, staff, service.ports)


@pytest.fixture(scope="module")
async def service(stack: Any) -> AsyncIterator[Service]:
    """One service per test module; tests keep apart by using their own tenants."""
    async with private_namespace_and_schema(stack) as (namespace, schema):
        settings = settings_for(stack, namespace, schema, resolve_batch_size=50)
        async with running(settings) as service:
            yield service
