"""Concurrent edits of one tenant's settings and users, through the whole HTTP stack: two
admins demoting each other at once leave one admin, and edits of different fields of the
tenant both survive."""

from __future__ import annotations

import asyncio

ROUNDS = 20


async def test_two_admins_demoting_each_other_leave_one_admin(composer):
    headers, first = await composer.tenant()
    for _ in range(ROUNDS):
        created = await composer.http.post(
            "/v1/users",
            json={"name": "Second admin", "email": f"second-{_}@acme.example", "role": "admin"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        second = created.json()
        second_headers = {"Authorization": f"Bearer {second['api_key']}"}

        demote_second, demote_first = await asyncio.gather(
            composer.http.patch(
                f"/v1/users/{second['id']}", json={"role": "manager"}, headers=headers
            ),
            composer.http.patch(
                f"/v1/users/{first}", json={"role": "manager"}, headers=second_headers
            ),
        )
        codes = sorted([demote_second.status_code, demote_first.status_code])
        assert codes in ([200, 403], [200, 409]), (demote_second.text, demote_first.text)

        users = (await composer.http.get("/v1/users", headers=headers)).json()
        admins = [u["id"] for u in users if u["role"] == "admin"]
        assert len(admins) == 1, users
        if admins != [first]:
            # The second admin won this round; it gives the role back for the next one.
            restored = await composer.http.patch(
                f"/v1/users/{first}", json={"role": "admin"}, headers=second_headers
            )
            assert restored.status_code == 200, restored.text
            demoted = await composer.http.patch(
                f"/v1/users/{second['id']}", json={"role": "member"}, headers=headers
            )
            assert demoted.status_code == 200, demoted.text


async def test_concurrent_edits_of_different_tenant_fields_both_persist(composer):
    headers, _ = await composer.tenant()
    for i in range(ROUNDS):
        results = await asyncio.gather(
            composer.http.patch("/v1/tenant", json={"company_name": f"Acme {i}"}, headers=headers),
            composer.http.patch(
                "/v1/tenant", json={"postal_address": f"{i}-1 Chiyoda, Tokyo"}, headers=headers
            ),
        )
        assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
        tenant = (await composer.http.get("/v1/tenant", headers=headers)).json()
        assert (tenant["company_name"], tenant["postal_address"]) == (
            f"Acme {i}",
            f"{i}-1 Chiyoda, Tokyo",
        )
