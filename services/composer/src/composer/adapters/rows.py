"""Domain dataclasses built from database rows, column by field name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def from_row(
    cls: type[T], row: Mapping[str, Any], converted: Mapping[str, object] | None = None
) -> T:
    """A `cls` whose fields take the row's columns of the same names. `converted` holds the
    values that are not a column as it is (parsed, decoded, or loaded apart); fields that
    neither has keep their defaults."""
    values: dict[str, object] = {f.name: row[f.name] for f in fields(cls) if f.name in row}
    values.update(converted or {})
    return cls(**values)
