"""The console in-process in front of a composer in-process (real PostgreSQL, Kafka and
Redis): a password sign-in gives a session whose key the composer accepts; sign-out revokes
that key at the composer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest

from composer import accounts, auth
from composer.main import create_app as composer_app
from composer.settings import Settings as ComposerSettings
from console import bootstrap
from console.adapters.backend import HttpBackend
from console.main import create_app as console_app
from console.settings import Settings
from testkit.asgi import started

PASSWORD = "integration password"


@pytest.fixture
async def both(stack, kafka_namespace, pg_schema) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    settings = ComposerSettings(
        kafka_bootstrap_servers=stack.kafka, database_url=stack.database_url,
        database_schema=pg_schema, kafka_namespace=kafka_namespace, token_secret="x",
        signing_keys_secret="integration-signing-keys-secret-0123456789",
    )  # fmt: skip
    async with started(composer_app(settings)) as composer:
        _, user, _ = await accounts.bootstrap(
            accounts.TenantInput(company_name="Acme KK", postal_address="Tokyo"),
            accounts.UserInput(name="Ada", email="ada@acme.example"),
            store=composer.ports.store,
            vault=composer.ports.sending.vault,
        )
        await auth.set_password(
            user.email, PASSWORD, None, logins=composer.ports.logins, hasher=composer.ports.hasher
        )
        to_composer = composer.client("http://composer")

        @asynccontextmanager
        async def build(s: Settings) -> AsyncIterator[bootstrap.Ports]:
            async with bootstrap.build(s) as ports:
                backend = HttpBackend({"composer": to_composer, "recipients": to_composer})
                yield replace(ports, backend=backend)

        console_settings = Settings(redis_url=stack.redis_url, redis_key_prefix="t-console:")
        async with (
            to_composer,
            started(console_app(console_settings, build=build)) as console,
            console.client("http://console") as http,
        ):
            yield http, str(user.id)


def token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


async def test_sign_in_and_out_through_the_composer(both) -> None:
    http, _ = both
    login = await http.get("/login")
    form = {"csrf_token": token(login), "email": "ADA@acme.example", "password": PASSWORD}
    response = await http.post("/login", data=form)
    assert response.status_code == 303, response.text
    drafts = await http.get("/campaigns")
    assert drafts.status_code == 200 and "Ada" in drafts.text
    signed_out = await http.post("/logout", data={"csrf_token": token(drafts)})
    assert signed_out.headers["location"] == "/login?signed_out=1"
    assert (await http.get("/campaigns")).status_code == 303


async def test_a_wrong_password_is_shown_by_the_field(both) -> None:
    http, _ = both
    login = await http.get("/login")
    form = {"csrf_token": token(login), "email": "ada@acme.example", "password": "wrong one"}
    page = await http.post("/login", data=form)
    assert 'id="password-error"' in page.text
