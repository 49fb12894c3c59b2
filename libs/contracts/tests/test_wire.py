"""A field-level decoder is built only from a struct that agrees with its model, field by
field: name, type (time zones included) and default."""

from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

import msgspec
import pytest

from contracts import Opened
from contracts.base import utcnow
from contracts.wire import Aware, decoder, disagreements


class WrongType(msgspec.Struct, kw_only=True):
    tenant_id: str


class NotAField(msgspec.Struct, kw_only=True):
    tenant_id: UUID
    mood: str


class OptionalWhereRequired(msgspec.Struct, kw_only=True):
    tenant_id: UUID | None = None


class OtherDefault(msgspec.Struct, kw_only=True):
    machine: bool = True


class NaiveTime(msgspec.Struct, kw_only=True):
    occurred_at: datetime


class OtherType(msgspec.Struct, kw_only=True):
    event_type: Literal["Clicked"] = "Clicked"


class Agrees(msgspec.Struct, kw_only=True):
    event_id: UUID = msgspec.field(default_factory=uuid4)
    occurred_at: Aware = msgspec.field(default_factory=utcnow)
    tenant_id: UUID
    machine: bool = False


@pytest.mark.parametrize(
    ("struct", "complaint"),
    [
        (WrongType, "tenant_id is"),
        (NotAField, "mood is not a field"),
        (OptionalWhereRequired, "tenant_id is"),
        (OtherDefault, "machine defaults to True"),
        (NaiveTime, "occurred_at is"),
        (OtherType, "event_type is"),
    ],
)
def test_a_struct_that_differs_from_its_model_is_refused(struct, complaint):
    assert any(complaint in d for d in disagreements(struct, Opened))
    with pytest.raises(TypeError, match=complaint):
        decoder(struct, Opened)


def test_a_struct_of_some_fields_of_the_model_agrees():
    assert disagreements(Agrees, Opened) == []
