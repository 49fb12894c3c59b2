"""Response bodies filled from domain objects by field name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

_MISSING = object()


def fields_for(model: type[BaseModel], *sources: object) -> dict[str, Any]:
    """The value of each of `model`'s fields, by name, from the sources (attributes of an
    object, or keys of a mapping); a later source wins. Fields no source has are left out,
    so their defaults apply."""
    found: dict[str, Any] = {}
    for name in model.model_fields:
        for source in reversed(sources):
            if isinstance(source, Mapping):
                value = source.get(name, _MISSING)
            else:
                value = getattr(source, name, _MISSING)
            if value is not _MISSING:
                found[name] = value
                break
    return found
