"""Password sign-in on real PostgreSQL: session keys, expiry, sign-out, the shared failure
count, password reset and the operator's set-password command."""

from __future__ import annotations

import os
import subprocess
import sys

from composer import auth
from composer.adapters.logins import PostgresLogins

PASSWORD = "correct horse battery"


async def signed_in(composer, email: str, password: str = PASSWORD, **extra: str):
    return await composer.http.post(
        "/v1/auth/login", json={"email": email, "password": password, **extra}
    )


async def admin_with_password(composer, company: str = "Acme KK") -> tuple[dict, str, str]:
    headers, admin_id = await composer.tenant(company)
    me = (await composer.http.get("/v1/me", headers=headers)).json()
    await auth.set_password(
        me["email"], PASSWORD, None, logins=composer.ports.logins, hasher=composer.ports.hasher
    )
    return headers, admin_id, me["email"]


async def test_a_session_key_works_until_sign_out(composer):
    _, admin_id, email = await admin_with_password(composer)
    response = await signed_in(composer, email.upper())
    assert response.status_code == 200, response.text
    session = response.json()
    bearer = {"Authorization": f"Bearer {session['api_key']}"}
    assert session["user"]["id"] == admin_id and session["company_name"] == "Acme KK"
    who = await composer.http.post("/v1/auth/introspect", headers=bearer)
    assert who.json()["user_id"] == admin_id
    assert (await composer.http.post("/v1/auth/logout", headers=bearer)).status_code == 204
    assert (await composer.http.get("/v1/me", headers=bearer)).status_code == 401


async def test_an_expired_session_key_verifies_as_nobody(composer):
    _, _, email = await admin_with_password(composer)
    session = (await signed_in(composer, email)).json()
    await composer.ports.database.pool.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE key_id = $1",
        session["key_id"],
    )
    bearer = {"Authorization": f"Bearer {session['api_key']}"}
    assert (await composer.http.get("/v1/me", headers=bearer)).status_code == 401


async def test_failures_are_counted_in_postgres_for_every_instance(composer):
    _, _, email = await admin_with_password(composer)
    for _ in range(5):
        assert (await signed_in(composer, email, "wrong password")).status_code == 401
    # A second instance (another pool on the same schema) sees the same count.
    other = PostgresLogins(composer.ports.database.pool)
    assert await other.failures(email.lower(), composer.ports.clock.now().replace(year=2000)) == 5
    limited = await signed_in(composer, email)
    assert limited.status_code == 429 and limited.headers["retry-after"]


async def test_an_address_in_two_tenants_is_asked_for_the_tenant(composer):
    _, _, email = await admin_with_password(composer, "First KK")
    headers, _ = await composer.tenant("Second KK")
    second = await composer.http.post(
        "/v1/users", json={"name": "Same", "email": email, "role": "member"}, headers=headers
    )
    user_id = second.json()["id"]
    reset = await composer.http.put(
        f"/v1/users/{user_id}/password", json={"new_password": PASSWORD}, headers=headers
    )
    assert reset.status_code == 204, reset.text
    ambiguous = await signed_in(composer, email)
    assert ambiguous.status_code == 422
    tenants = {t["company_name"]: t["id"] for t in ambiguous.json()["tenants"]}
    assert set(tenants) == {"First KK", "Second KK"}
    chosen = await signed_in(composer, email, tenant_id=tenants["Second KK"])
    assert chosen.json()["user"]["id"] == user_id


async def test_the_operator_command_sets_the_first_admins_password(composer, stack):
    headers, admin_id = await composer.tenant("CliKK")
    email = (await composer.http.get("/v1/me", headers=headers)).json()["email"]
    env = dict(os.environ)
    env.update(DATABASE_URL=stack.database_url, DATABASE_SCHEMA=composer.settings.database_schema)
    done = subprocess.run(
        [sys.executable, "-m", "composer", "set-password", "--email", email],
        input=f"{PASSWORD}\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert admin_id in done.stdout
    assert (await signed_in(composer, email)).status_code == 200
