"""The notifier reads opens and clicks with field-level decoders: they read the same values
as the contracts' models, only fields of the committed schemas, and refuse what the models
refuse."""

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from contracts import Clicked, MalformedEvent, Opened, decode, encode
from notifier.wire import ClickedFields, OpenedFields, read_clicked, read_opened

SCHEMAS = Path(__file__).resolve().parents[4] / "libs" / "contracts" / "schemas"
READERS = [(OpenedFields, Opened, read_opened), (ClickedFields, Clicked, read_clicked)]


def hit(model, **changes):
    fields = dict(
        tenant_id=uuid.uuid4(),
        campaign_id=uuid.uuid4(),
        message_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        notify_user_id=uuid.uuid4(),
    )
    if model is Clicked:
        fields["url"] = "https://例え.jp/お知らせ?a=1&b=2"
    return model(**(fields | changes))


@pytest.mark.parametrize(("struct", "model", "read"), READERS)
@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"machine": True, "machine_reason": "proxy", "user_agent": "GoogleImageProxy"},
        {"occurred_at": datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))},
    ],
)
def test_a_decoder_reads_what_the_model_reads(struct, model, read, changes):
    event = hit(model, **changes)
    data = encode(event)
    fields = read(data)
    assert isinstance(fields, struct)
    for f in msgspec.structs.fields(struct):
        assert getattr(fields, f.name) == getattr(decode(data, model), f.encode_name), f.name


@pytest.mark.parametrize(("struct", "model", "read"), READERS)
def test_a_decoder_reads_only_fields_of_the_committed_schema_and_requires_what_it_requires(
    struct, model, read
):
    schema = json.loads((SCHEMAS / f"{model.__name__}.v1.json").read_text())
    required = set(schema.get("required", ()))
    for f in msgspec.structs.fields(struct):
        assert f.encode_name in schema["properties"], f.encode_name
        assert f.required == (f.encode_name in required), f.encode_name


def spoil(data: bytes, **changes) -> bytes:
    payload = json.loads(data) | changes
    return json.dumps({k: v for k, v in payload.items() if v is not None}).encode()


@pytest.mark.parametrize(("struct", "model", "read"), READERS)
@pytest.mark.parametrize(
    "spoilt",
    [
        lambda d: spoil(d, tenant_id=None),
        lambda d: spoil(d, message_id="not-a-uuid"),
        lambda d: spoil(d, occurred_at="2026-12-01T09:00:00"),  # no time zone
        lambda d: spoil(d, event_type="Bounced"),
        lambda d: spoil(d, schema_version=2),
        lambda d: spoil(d, machine="sometimes"),
        lambda d: d[:40],
        lambda d: b"[]",
    ],
)
def test_a_decoder_refuses_what_the_model_refuses(struct, model, read, spoilt):
    data = spoilt(encode(hit(model)))
    with pytest.raises(MalformedEvent):
        decode(data, model)
    with pytest.raises(MalformedEvent, match=model.__name__):
        read(data)
