"""Dataclasses built from records (database rows, other dataclasses) by field name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def by_field_name(cls: type[T], record: Mapping[str, Any], **given: object) -> T:
    """A `cls` whose fields are those of `given`, the others the record's values under the
    same names."""
    taken = {f.name: record[f.name] for f in fields(cls) if f.name not in given}
    return cls(**taken, **given)
