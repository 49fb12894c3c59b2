"""Dataclasses filled field by field from where the same names hold the values: query rows
whose columns are named as the fields, or objects (events, other dataclasses) carrying
them as attributes. What a column does not hold as it is (parsed JSON, a renamed column)
is given by keyword."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

_ABSENT = object()


class Row(Protocol):
    """What `asyncpg.Record` offers: columns by name."""

    def get(self, name: str, default: object, /) -> Any: ...


def from_row(cls: type[T], row: Row, **given: object) -> T:
    """A `cls` whose fields come from `given`, else from the row's column of the same name."""
    return _build(cls, lambda name: row.get(name, _ABSENT), given)


def from_attributes(cls: type[T], *sources: object, **given: object) -> T:
    """A `cls` whose fields come from `given`, else from the first source with an attribute
    of the same name."""

    def lookup(name: str) -> object:
        return next((getattr(s, name) for s in sources if hasattr(s, name)), _ABSENT)

    return _build(cls, lookup, given)


def _build(cls: type[T], lookup: Callable[[str], object], given: dict[str, object]) -> T:
    """An enum field gets the member of the value found; a field with a default may be
    found nowhere."""
    values = dict(given)
    for field in _fields(cls):
        if field.name in values:
            continue
        value = lookup(field.name)
        if value is _ABSENT:
            if field.optional:
                continue
            raise TypeError(f"{cls.__name__}: no value for {field.name}")
        if field.enum is not None and value is not None:
            value = field.enum(value)
        values[field.name] = value
    return cls(**values)


class _Field(NamedTuple):
    name: str
    enum: type[Enum] | None
    optional: bool


@cache
def _fields(cls: type[DataclassInstance]) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        _Field(f.name, _enum(hints[f.name]), _has_default(f))
        for f in dataclasses.fields(cls)
        if f.init
    )


def _enum(hint: object) -> type[Enum] | None:
    return hint if isinstance(hint, type) and issubclass(hint, Enum) else None


def _has_default(field: dataclasses.Field[object]) -> bool:
    missing = dataclasses.MISSING
    return field.default is not missing or field.default_factory is not missing
