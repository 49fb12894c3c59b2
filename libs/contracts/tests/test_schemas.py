"""Committed JSON Schemas match the models, and models only ever change compatibly."""

import json
from typing import Literal

import pytest
from pydantic import Field

from contracts import ALL_EVENTS, schemas
from contracts.base import Event


def committed(name: str) -> dict:
    return json.loads((schemas.SCHEMA_DIR / name).read_text())


@pytest.mark.parametrize("name", sorted(schemas.generate()))
def test_committed_schema_matches_model(name):
    generated = json.loads(schemas.render(schemas.generate()[name]))
    assert generated == committed(name), f"{name} drifted from its model: run `make schemas`"


@pytest.mark.parametrize("name", sorted(schemas.generate()))
def test_model_is_backward_compatible_with_committed_schema(name):
    assert schemas.incompatibilities(committed(name), schemas.generate()[name]) == []


def test_no_committed_schema_without_a_model():
    on_disk = {p.name for p in schemas.SCHEMA_DIR.glob("*.json")}
    assert on_disk == set(schemas.generate())


class _V1(Event):
    event_type: Literal["Probe"] = "Probe"
    schema_version: Literal[1] = 1
    count: int = Field(description="how many")
    label: str = ""


def _schema(model: type[Event]) -> dict:
    return model.model_json_schema(mode="serialization")


def test_adding_an_optional_field_is_compatible():
    class V(_V1):
        extra: str | None = None

    assert schemas.incompatibilities(_schema(_V1), _schema(V)) == []


def test_description_changes_are_compatible():
    class V(_V1):
        count: int = Field(description="how many, said differently")

    assert schemas.incompatibilities(_schema(_V1), _schema(V)) == []


def test_retyped_field_is_incompatible():
    class V(_V1):
        count: str = Field(description="how many")  # type: ignore[assignment]

    assert any(
        "count: type changed" in p for p in schemas.incompatibilities(_schema(_V1), _schema(V))
    )


def test_removed_field_is_incompatible():
    schema = _schema(_V1)
    reduced = json.loads(json.dumps(schema))
    del reduced["properties"]["label"]
    assert schemas.incompatibilities(schema, reduced) == ["event.label: removed"]


def test_new_required_field_is_incompatible():
    class V(_V1):
        must: int

    assert schemas.incompatibilities(_schema(_V1), _schema(V)) == [
        "event.must: new required field without a default"
    ]


def test_nested_change_is_found():
    from contracts.events import CampaignScheduled

    old = _schema(CampaignScheduled)
    new = json.loads(json.dumps(old))
    new["$defs"]["TrackingSettings"]["properties"]["track_opens"] = {"type": "string"}
    problems = schemas.incompatibilities(old, new)
    assert any("tracking.track_opens: type changed" in p for p in problems)


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.__name__)
def test_every_event_is_keyed_by_one_of_its_required_fields(model):
    field = model.model_fields.get(model.key)
    assert field is not None and field.is_required(), model.key
