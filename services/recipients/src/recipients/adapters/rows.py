"""Domain objects from database rows, by column name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def by_field_name(cls: type[T], row: Mapping[str, Any], **given: object) -> T:
    """A `cls` whose fields are those of `given`, the others the row's columns of the same
    names."""
    columns = {f.name: row[f.name] for f in fields(cls) if f.name not in given}
    return cls(**columns, **given)
