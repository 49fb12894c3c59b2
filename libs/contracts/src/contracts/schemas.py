"""JSON Schemas of the events: generation and the backward-compatibility check.

`tools/schemas.py` writes and checks the committed files (`make schemas`); a change that
would break readers of the committed schema of the same `schema_version` is refused, it
needs a new version instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.base import Event
from contracts.events import ALL_EVENTS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
_DESCRIPTIVE = {"title", "description", "default", "examples"}

Schema = dict[str, Any]


def file_name(model: type[Event]) -> str:
    fields = model.model_fields
    return f"{fields['event_type'].default}.v{fields['schema_version'].default}.json"


def generate() -> dict[str, Schema]:
    return {file_name(m): m.model_json_schema(mode="serialization") for m in ALL_EVENTS}


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _inline(node: Any, defs: Schema) -> Any:
    """The schema with every local $ref replaced by its definition and prose dropped."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k not in _DESCRIPTIVE | {"$defs"}}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def incompatibilities(old: Schema, new: Schema, path: str = "") -> list[str]:
    """Why a reader of `old` could not read what `new` allows; empty when compatible."""
    old_i, new_i = _inline(old, old.get("$defs", {})), _inline(new, new.get("$defs", {}))
    return _compare(old_i, new_i, path or "event")


def _compare(old: Schema, new: Schema, path: str) -> list[str]:
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        where = f"{path}.{name}"
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        new_prop = new_props[name]
        if "properties" in old_prop and "properties" in new_prop:
            problems += _compare(old_prop, new_prop, where)
        elif old_prop != new_prop:
            problems.append(f"{where}: type changed from {old_prop} to {new_prop}")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"{path}.{name}: new required field without a default")
    return problems


def breaking_changes() -> list[str]:
    """What the models would break in the committed schemas, one line each."""
    failures: list[str] = []
    for name, schema in generate().items():
        path = SCHEMA_DIR / name
        if path.exists():
            committed = json.loads(path.read_text())
            failures += [f"{name}: {p}" for p in incompatibilities(committed, schema)]
    return failures
