"""A misspelt field is refused wherever it is, never dropped: every JSON request body of
every service, at every depth of its schema, gets an unknown field on the running stack and
must answer 422 naming exactly where it was."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts import ALL_EVENTS
from testkit.platform import LOCAL, Api, new_tenant

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
UNKNOWN = "no_such_field"
Schema = dict[str, Any]


def object_paths(
    schema: Schema, components: dict[str, Schema], at: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every place in `schema` where a JSON object with named properties goes."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from object_paths(option, components, at)
    if "properties" in schema:
        yield at
        for name, sub in schema["properties"].items():
            yield from object_paths(sub, components, (*at, name))


#: Bodies that are events are read as events are (SPEC §7: a reader ignores the fields a
#: newer writer added), so that one service's upgrade never breaks another's requests.
EVENT_BODIES = {e.__name__ for e in ALL_EVENTS}


def _name(schema: Schema) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def json_bodies() -> Iterator[tuple[str, str, str, tuple[str, ...]]]:
    for doc in sorted(DOCS.glob("*.json")):
        spec = json.loads(doc.read_text())
        components = spec.get("components", {}).get("schemas", {})
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                body = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if (
                    body is None
                    or body["schema"].get("$ref", "").rsplit("/", 1)[-1] in EVENT_BODIES
                ):
                    continue
                for at in dict.fromkeys(object_paths(body["schema"], components)):
                    yield doc.stem, method.upper(), path, at


CASES = list(json_bodies())


async def test_a_body_that_is_an_event_is_still_refused_when_malformed(admin_key):
    api = Api(LOCAL.recipients, admin_key)
    for content in (b"{", b"[]", b'{"event_type": "CampaignScheduled"}', b"\xff" * 100):
        response = await api.send(
            "POST",
            "/v1/recipients/preview",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in (400, 422), response.text


def test_every_json_body_is_covered():
    services = {service for service, *_ in CASES}
    assert {"composer", "recipients", "notifier"} <= services, services
    assert ("composer", "POST", "/v1/campaigns", ("recipients",)) in CASES


@pytest.fixture(scope="module")
async def admin_key() -> str:
    return (await new_tenant("Hostile Fields KK")).admin.composer.key


@pytest.mark.parametrize(
    ("service", "method", "path", "at"),
    CASES,
    ids=[f"{s} {m} {p} {'.'.join(a) or '<body>'}" for s, m, p, a in CASES],
)
async def test_an_unknown_field_is_refused_where_it_is(admin_key, service, method, path, at):
    body: dict[str, Any] = {UNKNOWN: 1}
    for name in reversed(at):
        body = {name: body}
    api = Api(LOCAL.services()[service], admin_key)
    url = path.replace("{", "").replace("}", "")  # a well-formed id in every path parameter
    for name in ("campaign_id", "customer_id", "group_id", "user_id", "sender_id"):
        url = url.replace(name, str(uuid.uuid4()))
    response = await api.send(method, url, json=body)
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert ".".join((*at, UNKNOWN)) in fields, fields
