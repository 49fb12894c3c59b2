"""The envelope every event shares, and the value types events are made of.

The rules for changing these models are in the package docstring (`contracts/__init__.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    """Frozen; unknown fields are ignored so that additive changes never break a reader."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Model):
    """Fields present on every event, whatever its type.

    Subclasses pin `event_type` and `schema_version` with a Literal so that a reader can tell
    what it holds before it decodes the payload.
    """

    topic: ClassVar[str]
    #: The field whose value is the Kafka message key: events with the same value stay in
    #: order on one partition. Addresses are keyed case-insensitively.
    key: ClassVar[str]

    event_id: UUID = Field(
        default_factory=uuid4,
        description="Unique id of this event; consumers ignore an id they have already seen.",
    )
    event_type: str = Field(description="Name of the event's model, e.g. `MessageSent`.")
    schema_version: int = Field(description="Version of this event type's schema.")
    occurred_at: AwareDatetime = Field(
        default_factory=utcnow, description="When the fact happened (timezone-aware)."
    )
    tenant_id: UUID = Field(description="Tenant (account) the event belongs to.")

    def partition_key(self) -> bytes:
        value = getattr(self, self.key)
        return value.bytes if isinstance(value, UUID) else str(value).lower().encode()


class Timing(StrEnum):
    """How often a kind of notification is delivered as a digest."""

    NONE = "none"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class BounceKind(StrEnum):
    HARD = "hard"
    SOFT = "soft"


HeaderText = Annotated[str, StringConstraints(max_length=998, pattern=r"^[^\r\n]*$")]
"""Text that ends up in a mail header: one line."""

EmailAddress = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s<>\r\n]+@[^@\s<>\r\n]+$")
]
"""An addr-spec; syntax only, deliverability is the mail server's business."""


class Address(Model):
    """A mailbox: display name and address."""

    name: HeaderText = Field(default="", description="Display name; no CR or LF.")
    email: EmailAddress = Field(description="Mailbox address.")
