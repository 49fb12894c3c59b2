"""The opens and clicks as the notifier reads them: only the fields it keeps, decoded by
msgspec instead of the whole pydantic model (half of ingest's time went into building
models). `contracts.wire.decoder` checks each field against `Opened` and `Clicked` when
the module loads, so the contracts stay the one definition."""

from __future__ import annotations

from typing import Literal
from uuid import UUID, uuid4

import msgspec

from contracts import Clicked, Opened
from contracts.base import utcnow
from contracts.wire import Aware, decoder


class OpenedFields(msgspec.Struct, frozen=True, kw_only=True):
    event_type: Literal["Opened"] = "Opened"
    schema_version: Literal[1] = 1
    event_id: UUID = msgspec.field(default_factory=uuid4)
    occurred_at: Aware = msgspec.field(default_factory=utcnow)
    tenant_id: UUID
    campaign_id: UUID
    message_id: UUID
    customer_id: UUID
    notify_user_id: UUID
    machine: bool = False


class ClickedFields(OpenedFields, frozen=True, kw_only=True):
    event_type: Literal["Clicked"] = "Clicked"  # type: ignore[assignment]
    url: str


read_opened = decoder(OpenedFields, Opened)
read_clicked = decoder(ClickedFields, Clicked)
