"""Sending domains on real PostgreSQL and a real DNS server (unbound): records published
through its control channel, looked up by the composer through its resolver port."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import CampaignScheduled, decode_any, topics
from mailkit.keys import KeyVault
from testkit import dns

BODY = {
    "subject": "News for {{ full_name }}",
    "text_body": "Hello {{ first_name }}",
    "recipients": {"customer_ids": [str(uuid.uuid4())]},
}


async def domain_of(composer, headers) -> dict[str, Any]:
    [domain] = (await composer.http.get("/v1/sending-domains", headers=headers)).json()
    return dict(domain)


async def verify(composer, headers, domain_id) -> dict[str, Any]:
    checked = await composer.http.post(f"/v1/sending-domains/{domain_id}/verify", headers=headers)
    assert checked.status_code == 200, checked.text
    return dict(checked.json())


async def released(composer, campaign_id: str) -> CampaignScheduled:
    rows = await composer.ports.database.pool.fetch(
        "SELECT payload FROM outbox WHERE topic = $1", topics.CAMPAIGN_SCHEDULED
    )
    events = [decode_any(r["payload"]) for r in rows]
    [event] = [e for e in events if str(getattr(e, "campaign_id", "")) == campaign_id]
    assert isinstance(event, CampaignScheduled)
    return event


async def test_a_domain_is_unverified_until_its_records_are_in_the_dns(composer):
    headers, _ = await composer.tenant("Dnsa KK", verified=False)
    domain = await domain_of(composer, headers)
    assert domain["status"] == "pending" and domain["domain"] == "dnsa.example"
    assert {(r["purpose"], r["type"]) for r in domain["records"]} == {
        ("dkim", "TXT"), ("spf", "TXT"), ("dmarc", "TXT"), ("return_path", "MX"),
        ("return_path", "TXT"),
    }  # fmt: skip
    assert (await verify(composer, headers, domain["id"]))["status"] == "pending"

    required = [r for r in domain["records"] if r["required"]]
    await dns.publish(required[:-1], composer.dns.control)
    partly = await verify(composer, headers, domain["id"])
    assert partly["status"] == "pending" and partly["checked_at"] and not partly["verified_at"]
    missing = [r for r in partly["records"] if r["required"] and not r["found"]]
    assert [r["name"] for r in missing] == [required[-1]["name"]]

    await dns.publish(domain["records"], composer.dns.control)
    done = await verify(composer, headers, domain["id"])
    assert done["status"] == "verified" and done["verified_at"]
    assert all(r["found"] for r in done["records"]), done["records"]


async def test_a_campaign_from_an_unverified_domain_is_refused_with_422(composer):
    headers, _ = await composer.tenant("Dnsb KK", verified=False)
    created = await composer.http.post("/v1/campaigns", json=BODY, headers=headers)
    assert created.status_code == 201
    [warning] = created.json()["warnings"]
    assert warning["field"] == "sender_mode" and warning["allowed"] == []
    cid = created.json()["id"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for path, body in (("send", None), ("schedule", {"send_at": tomorrow})):
        refused = await composer.http.post(
            f"/v1/campaigns/{cid}/{path}", json=body, headers=headers
        )
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "sender_mode" and error["allowed"] == []
        assert "admin@dnsb.example" in error["reason"]
    domain = await domain_of(composer, headers)
    await dns.publish(domain["records"], composer.dns.control)
    await verify(composer, headers, domain["id"])
    sent = await composer.http.post(f"/v1/campaigns/{cid}/send", headers=headers)
    assert sent.status_code == 200, sent.text


async def test_rotation_keeps_the_old_selector_published_and_the_new_one_signing(composer):
    headers, _ = await composer.tenant("Dnsc KK")
    domain = await domain_of(composer, headers)
    [old] = [r["selector"] for r in domain["records"] if r["purpose"] == "dkim"]
    rotated = await composer.http.post(
        f"/v1/sending-domains/{domain['id']}/rotate", headers=headers
    )
    states = {r["selector"]: r["key_state"] for r in rotated.json()["records"] if r["selector"]}
    [new] = [s for s, state in states.items() if state == "pending"]
    assert states == {old: "active", new: "pending"}

    new_records = [r for r in rotated.json()["records"] if r["selector"] == new]
    await dns.publish(new_records, composer.dns.control)
    done = await verify(composer, headers, domain["id"])
    assert done["status"] == "verified"
    shown = {r["selector"]: (r["key_state"], r["found"]) for r in done["records"] if r["selector"]}
    assert shown == {old: ("retiring", True), new: ("active", True)}

    cid = (await composer.http.post("/v1/campaigns", json=BODY, headers=headers)).json()["id"]
    assert (await composer.http.post(f"/v1/campaigns/{cid}/send", headers=headers)).is_success
    event = await released(composer, cid)
    assert [(k.domain, k.selector) for k in event.signing_keys] == [("dnsc.example", new)]

    removed = await composer.http.delete(
        f"/v1/sending-domains/{domain['id']}/keys/{old}", headers=headers
    )
    assert [r["selector"] for r in removed.json()["records"] if r["selector"]] == [new]
    kept = await composer.http.delete(
        f"/v1/sending-domains/{domain['id']}/keys/{new}", headers=headers
    )
    assert kept.status_code == 409


async def test_keys_are_encrypted_at_rest_and_absent_in_clear_from_the_snapshot(composer):
    headers, _ = await composer.tenant("Dnsd KK")
    added = await composer.http.post(
        "/v1/sending-domains",
        json={"domain": "news.dnsd.example", "ed25519": True},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    rows = await composer.ports.database.pool.fetch("SELECT * FROM dkim_keys")
    assert len(rows) == 3
    box = KeyVault(composer.settings.signing_keys_secret.get_secret_value())
    for row in rows:
        assert "PRIVATE KEY" not in " ".join(str(v) for v in row.values())
        assert box.decrypt(row["private_key"]).startswith(b"-----BEGIN PRIVATE KEY-----")

    cid = (await composer.http.post("/v1/campaigns", json=BODY, headers=headers)).json()["id"]
    assert (await composer.http.post(f"/v1/campaigns/{cid}/send", headers=headers)).is_success
    payload = await composer.ports.database.pool.fetchval("SELECT payload FROM outbox")
    assert b"PRIVATE KEY" not in payload
    [key] = (await released(composer, cid)).signing_keys
    assert key.algorithm == "rsa-sha256" and b"PRIVATE KEY" in box.decrypt(key.private_key)


async def test_only_admins_reach_the_sending_domain_endpoints(composer):
    headers, _ = await composer.tenant("Dnse KK")
    domain = await domain_of(composer, headers)
    selector = domain["records"][0]["selector"]
    keys = {}
    for role in ("member", "manager"):
        user = {"name": role, "email": f"{role}@dnse.example", "role": role}
        created = await composer.http.post("/v1/users", json=user, headers=headers)
        keys[role] = {"Authorization": f"Bearer {created.json()['api_key']}"}
    base = f"/v1/sending-domains/{domain['id']}"
    calls = [
        ("GET", "/v1/sending-domains", None),
        ("POST", "/v1/sending-domains", {"domain": "x.dnse.example"}),
        ("GET", base, None),
        ("POST", f"{base}/verify", None),
        ("POST", f"{base}/rotate", None),
        ("DELETE", f"{base}/keys/{selector}", None),
        ("DELETE", base, None),
    ]
    for role, auth in keys.items():
        for method, path, body in calls:
            response = await composer.http.request(method, path, json=body, headers=auth)
            assert response.status_code == 403, (role, method, path, response.text)
    expected = [200, 201, 200, 200, 200, 409, 204]
    for (method, path, body), status in zip(calls, expected, strict=True):
        response = await composer.http.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (method, path, response.text)
