"""Field-level decoding for the hottest consumers, checked against the contracts.

A consumer that reads a few fields of tens of thousands of events a second pays more for
building each pydantic model than for the rest of its work on the event. Such a consumer
declares the fields it reads as a msgspec `Struct` and asks `decoder(struct, model)` for
a reader. The struct is checked against the model, field by field (same name, same type,
same default), so the pydantic model stays the one contract; fields the struct leaves
out are skipped, as any reader skips fields it does not know.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import msgspec
from pydantic import AwareDatetime
from pydantic.fields import FieldInfo

from contracts.base import Event
from contracts.codec import MalformedEvent

S = TypeVar("S", bound=msgspec.Struct)

#: A timezone-aware timestamp, as `AwareDatetime` is on the models.
Aware = Annotated[datetime, msgspec.Meta(tz=True)]


def decoder(struct: type[S], model: type[Event]) -> Callable[[bytes], S]:
    """bytes -> `struct`, refusing what `model` refuses of those fields (as `MalformedEvent`)."""
    mismatches = disagreements(struct, model)
    if mismatches:
        raise TypeError(
            f"{struct.__name__} does not read {model.__name__}: {'; '.join(mismatches)}"
        )
    reader = msgspec.json.Decoder(struct)
    name = model.__name__

    def decode(data: bytes) -> S:
        try:
            return reader.decode(data)
        except msgspec.ValidationError as exc:
            raise MalformedEvent(f"not a valid {name}: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise MalformedEvent(f"not a valid {name}: not JSON ({exc})") from exc

    return decode


def disagreements(struct: type[msgspec.Struct], model: type[Event]) -> list[str]:
    """Where the struct's fields differ from the model's (empty when it reads them alike)."""
    found = []
    for f in msgspec.structs.fields(struct):
        info = model.model_fields.get(f.encode_name)
        if info is None:
            found.append(f"{f.encode_name} is not a field of the model")
            continue
        expected = wire_type(info)
        if f.type != expected:
            found.append(f"{f.encode_name} is {f.type!r}, the model's is {expected!r}")
        if f.required != info.is_required():
            found.append(f"{f.encode_name} is {'' if f.required else 'not '}required")
        elif info.default_factory is None and not f.required and f.default != info.default:
            found.append(f"{f.encode_name} defaults to {f.default!r}, not {info.default!r}")
    return found


def wire_type(info: FieldInfo) -> Any:
    """The msgspec type that decodes a model field as pydantic does, for the types events
    are made of; a constrained field (length, pattern) has none, so no struct matches it."""
    if info.metadata:
        return f"constrained {info.annotation!r}"
    return _plain(info.annotation)


def _plain(annotation: Any) -> Any:
    if annotation is AwareDatetime:
        return Aware
    if get_origin(annotation) in (Union, types.UnionType):
        members = tuple(_plain(a) for a in get_args(annotation))
        return Union[members]  # noqa: UP007 (built from a tuple)
    return annotation
