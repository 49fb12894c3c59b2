"""The HTTP layer on the in-memory ports: status codes, error shape, authentication."""

from __future__ import annotations

import uuid

import pytest
from composer_tests_fakes import SECRET, DictVerifier, fake_build

from composer.main import create_app
from composer.settings import Settings
from servicekit.auth import Role
from testkit.asgi import started


@pytest.fixture
async def api(store, clock, tools):
    verifier = DictVerifier()

    app = create_app(
        Settings(
            token_secret="unit",
            signing_keys_secret=SECRET,
            max_request_bytes=64 * 1024,
            run_scheduler=False,
        ),
        build=fake_build(store, clock, verifier),
    )
    tenant = store.add_tenant()
    verifier.keys["member"] = store.add_user(tenant, Role.MEMBER)
    verifier.keys["manager"] = store.add_user(tenant, Role.MANAGER)
    async with started(app) as service, service.client("http://composer") as client:
        yield client


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}"}


BODY = {
    "subject": "Hello",
    "text_body": "Hi {{ first_name }}",
    "recipients": {"customer_ids": [str(uuid.uuid4())]},
}


async def test_requests_without_a_valid_key_get_401(api):
    assert (await api.get("/v1/campaigns")).status_code == 401
    response = await api.get("/v1/campaigns", headers=auth("nope"))
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "authorization"
    assert (await api.post("/v1/auth/introspect", headers=auth("nope"))).status_code == 401


async def test_introspect_answers_who_the_key_belongs_to(api):
    body = (await api.post("/v1/auth/introspect", headers=auth("manager"))).json()
    assert body["role"] == "manager" and uuid.UUID(body["tenant_id"])


async def test_rule_violations_are_422_with_field_and_reason(api):
    response = await api.post(
        "/v1/campaigns", json=BODY | {"subject": "a\r\nb", "recipients": {}}, headers=auth("member")
    )
    assert response.status_code == 422
    errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert set(errors) == {"subject", "recipients"}


async def test_malformed_json_fields_are_422_with_field_and_reason(api):
    response = await api.post(
        "/v1/campaigns",
        json=BODY | {"tracking": {"click_timing": "every minute"}},
        headers=auth("member"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "tracking.click_timing"


@pytest.mark.parametrize(
    ("path", "typo"),
    [
        ("recipients", {"exclude_group_id": [str(uuid.uuid4())]}),
        ("tracking", {"track_open": False}),
        (None, {"subjcet": "Hello"}),
    ],
)
async def test_misspelt_fields_are_refused_at_every_depth(api, path, typo):
    nested = BODY | ({path: dict(BODY.get(path, {})) | typo} if path else typo)
    for send in (
        lambda: api.post("/v1/campaigns", json=nested, headers=auth("member")),
        lambda: api.patch(f"/v1/campaigns/{uuid.uuid4()}", json=nested, headers=auth("member")),
    ):
        response = await send()
        assert response.status_code == 422, response.text
        [name] = typo
        field = f"{path}.{name}" if path else name
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_test_send_address_is_never_composed(api):
    recipients = BODY["recipients"] | {"deliver_to": "someone@else.example"}
    response = await api.post(
        "/v1/campaigns", json=BODY | {"recipients": recipients}, headers=auth("member")
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["recipients.deliver_to"]


async def test_member_changing_the_sender_gets_403(api):
    response = await api.post(
        "/v1/campaigns",
        json=BODY | {"sender_mode": "changed", "sender_email": "x@acme.example"},
        headers=auth("member"),
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "sender_mode"


async def test_full_cycle_and_conflicts_over_http(api):
    created = await api.post("/v1/campaigns", json=BODY, headers=auth("member"))
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    scheduled = await api.post(
        f"/v1/campaigns/{cid}/schedule",
        json={"send_at": "2030-06-01T09:00"},
        headers=auth("member"),
    )
    assert scheduled.json()["scheduled_for"] == "2030-06-01T00:00:00Z"
    edit = await api.patch(f"/v1/campaigns/{cid}", json={"subject": "x"}, headers=auth("member"))
    assert edit.status_code == 409 and edit.json()["state"] == "scheduled"
    listed = await api.get("/v1/campaigns?folder=scheduled", headers=auth("member"))
    assert [c["id"] for c in listed.json()["items"]] == [cid]
    cancel = await api.post(f"/v1/campaigns/{cid}/cancel", headers=auth("member"))
    assert cancel.json()["folder"] == "drafts"
    sent = await api.post(f"/v1/campaigns/{cid}/send", headers=auth("member"))
    assert sent.json()["state"] == "sending"
    again = await api.post(f"/v1/campaigns/{cid}/cancel", headers=auth("member"))
    assert again.status_code == 409
    progress = (await api.get(f"/v1/campaigns/{cid}/progress", headers=auth("member"))).json()
    assert progress["state"] == "sending" and progress["excluded_total"] == 0


async def test_unknown_ids_and_folders(api):
    missing = await api.get(f"/v1/campaigns/{uuid.uuid4()}", headers=auth("member"))
    assert missing.status_code == 404
    assert (await api.get("/v1/campaigns?folder=trash", headers=auth("member"))).status_code == 422


async def test_oversized_requests_are_refused_before_parsing(api):
    response = await api.post(
        "/v1/campaigns",
        content=b"{" + b" " * 70_000 + b"}",
        headers=auth("member") | {"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_login_over_http_names_the_field_and_limits_failures(api):
    wrong = {"email": "nobody@acme.example", "password": "wrong password"}
    for _ in range(5):
        response = await api.post("/v1/auth/login", json=wrong)
        assert response.status_code == 401
        assert response.json()["errors"][0]["field"] == "password"
    limited = await api.post("/v1/auth/login", json=wrong)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert limited.json()["errors"][0]["field"] == "email"


async def test_password_changes_need_the_current_one_over_http(api):
    me = (await api.get("/v1/me", headers=auth("member"))).json()
    response = await api.put(
        f"/v1/users/{me['id']}/password",
        json={"new_password": "x"},
        headers=auth("member"),
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"new_password"}
