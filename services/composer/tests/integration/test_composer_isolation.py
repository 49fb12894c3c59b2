"""Tenant B, with an admin key, reaches none of tenant A's objects through any endpoint."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

BODY = {
    "subject": "A's news",
    "text_body": "Hello {{ first_name }}",
    "recipients": {"include_group_ids": [str(uuid.uuid4())]},
}


async def test_every_endpoint_answers_404_for_another_tenants_objects(composer):
    http = composer.http
    a, a_admin = await composer.tenant("Alpha KK")
    b, _ = await composer.tenant("Bravo KK")

    user = (
        await http.post("/v1/users", json={"name": "Al", "email": "al@alph.example"}, headers=a)
    ).json()
    sender = (
        await http.post(
            "/v1/senders", json={"name": "Support", "email": "support@alph.example"}, headers=a
        )
    ).json()
    draft = (await http.post("/v1/campaigns", json=BODY, headers=a)).json()["id"]
    scheduled = (await http.post("/v1/campaigns", json=BODY, headers=a)).json()["id"]
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await http.post(f"/v1/campaigns/{scheduled}/schedule", json={"send_at": at}, headers=a)
    sending = (await http.post("/v1/campaigns", json=BODY, headers=a)).json()["id"]
    await http.post(f"/v1/campaigns/{sending}/send", headers=a)

    attempts = []
    for cid in (draft, scheduled, sending):
        attempts += [
            ("GET", f"/v1/campaigns/{cid}", None),
            ("PATCH", f"/v1/campaigns/{cid}", {"subject": "B was here"}),
            ("DELETE", f"/v1/campaigns/{cid}", None),
            ("POST", f"/v1/campaigns/{cid}/send", None),
            ("POST", f"/v1/campaigns/{cid}/schedule", {"send_at": at}),
            ("POST", f"/v1/campaigns/{cid}/cancel", None),
            ("GET", f"/v1/campaigns/{cid}/progress", None),
            ("POST", f"/v1/campaigns/{cid}/preview", {"customer_id": str(uuid.uuid4())}),
            ("POST", f"/v1/campaigns/{cid}/test-send", {"customer_id": str(uuid.uuid4())}),
            ("POST", f"/v1/campaigns/{cid}/unknown", {"action": "resend"}),
        ]
    for uid in (user["id"], a_admin):
        attempts += [
            ("GET", f"/v1/users/{uid}", None),
            ("PATCH", f"/v1/users/{uid}", {"signature": "B was here"}),
            ("POST", f"/v1/users/{uid}/keys", None),
            ("PUT", f"/v1/users/{uid}/password", {"new_password": "another tenant's choice"}),
        ]
    [domain] = (await http.get("/v1/sending-domains", headers=a)).json()
    selector = domain["records"][0]["selector"]
    attempts += [
        ("GET", f"/v1/sending-domains/{domain['id']}", None),
        ("POST", f"/v1/sending-domains/{domain['id']}/verify", None),
        ("POST", f"/v1/sending-domains/{domain['id']}/rotate", None),
        ("DELETE", f"/v1/sending-domains/{domain['id']}/keys/{selector}", None),
        ("DELETE", f"/v1/sending-domains/{domain['id']}", None),
        ("DELETE", f"/v1/keys/{user['key_id']}", None),
        ("GET", f"/v1/senders/{sender['id']}", None),
        ("DELETE", f"/v1/senders/{sender['id']}", None),
    ]
    for method, path, body in attempts:
        response = await http.request(method, path, json=body, headers=b)
        assert response.status_code == 404, (method, path, response.status_code, response.text)

    # Every route that names an object by id was tried above.
    templated = {
        (method.upper(), path)
        for path, item in composer.app.openapi()["paths"].items()
        if "{" in path
        for method in item
    }
    tried = {(m, _template(p)) for m, p, _ in attempts}
    assert templated <= tried, templated - tried

    # Listings show B nothing of A's.
    for folder in ("drafts", "scheduled", "sending", "sent"):
        page = (await http.get(f"/v1/campaigns?folder={folder}", headers=b)).json()
        assert page["items"] == []
    assert [u["name"] for u in (await http.get("/v1/users", headers=b)).json()] == [
        "Bravo KK admin"
    ]
    assert (await http.get("/v1/senders", headers=b)).json() == []
    assert [d["domain"] for d in (await http.get("/v1/sending-domains", headers=b)).json()] == [
        "brav.example"
    ]
    assert (await http.get("/v1/tenant", headers=b)).json()["company_name"] == "Bravo KK"

    # A's users and senders cannot be borrowed as B's sender.
    for borrowed in (
        {"sender_mode": "on_behalf_user", "sender_user_id": user["id"]},
        {"sender_mode": "on_behalf_registered", "sender_registered_id": sender["id"]},
    ):
        response = await http.post("/v1/campaigns", json=BODY | borrowed, headers=b)
        assert response.status_code == 422, response.text

    # And A's objects are as A left them.
    states = {
        cid: (await http.get(f"/v1/campaigns/{cid}", headers=a)).json()["state"]
        for cid in (draft, scheduled, sending)
    }
    assert states == {draft: "draft", scheduled: "scheduled", sending: "sending"}
    assert (await http.get(f"/v1/senders/{sender['id']}", headers=a)).status_code == 200
    al = (await http.get(f"/v1/users/{user['id']}", headers=a)).json()
    assert al["signature"] == ""
    key = {"Authorization": f"Bearer {user['api_key']}"}
    assert (await http.post("/v1/auth/introspect", headers=key)).status_code == 200


def _template(path: str) -> str:
    """/v1/campaigns/<uuid>/send -> /v1/campaigns/{campaign_id}/send"""
    names = {
        "campaigns": "campaign_id",
        "users": "user_id",
        "keys": "key_id",
        "senders": "sender_id",
        "sending-domains": "domain_id",
    }
    parts = path.split("/")
    for i in range(1, len(parts)):
        if parts[i - 1] in names and i == 3:
            parts[i] = "{" + names[parts[i - 1]] + "}"
    if parts[2] == "sending-domains" and len(parts) == 6 and parts[4] == "keys":
        parts[5] = "{selector}"
    return "/".join(parts)
