"""Bytes on the wire <-> event models. JSON, UTF-8, one event per Kafka message."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import ValidationError

from contracts.base import Event
from contracts.events import ALL_EVENTS

E = TypeVar("E", bound=Event)

_BY_TYPE: dict[str, type[Event]] = {
    model.model_fields["event_type"].default: model for model in ALL_EVENTS
}


class MalformedEvent(ValueError):
    """The bytes are not a valid event of the expected type; the message goes to dead letter."""


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


def decode(data: bytes, model: type[E]) -> E:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise MalformedEvent(f"not a valid {model.__name__}: {exc.error_count()} error(s)") from exc


def decode_any(data: bytes) -> Event:
    """Decode an event whose type is read from its own `event_type` field."""
    try:
        event_type = json.loads(data)["event_type"]
        model = _BY_TYPE[event_type]
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedEvent("no known event_type") from exc
    return decode(data, model)
