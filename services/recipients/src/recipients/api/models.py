"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Protocol, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from recipients.customers import Customer, ImportReport, Lift, Reason


class _Identified(Protocol):
    @property
    def id(self) -> UUID: ...


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    """A response body, read from the domain object's attributes of the same names."""

    model_config = ConfigDict(from_attributes=True)


class _Page(BaseModel):
    """A page of `items` in id order; subclasses declare the item type."""

    @classmethod
    def of(cls, items: Sequence[_Identified], limit: int) -> Self:
        """`next_after` is the keyset cursor of the page after a full one, None after the last."""
        after = items[-1].id if len(items) == limit else None
        return cls.model_validate({"items": items, "next_after": after})


class CustomerIn(_Body):
    email: str = Field(description="Address; unique per tenant whatever its case.")
    last_name: str = Field(default="", description="Family name (姓).")
    first_name: str = Field(default="", description="Given name (名).")
    company: str = Field(default="", description="Company name (会社名).")
    attributes: dict[str, str] = Field(
        default={}, description="Custom attributes, usable as merge fields `attr.<key>`."
    )
    owner_user_id: UUID | None = Field(
        default=None,
        description="Owner (担当者): the user who sends as owner; a user of the tenant.",
    )


class CustomerPatch(_Body):
    """Only the fields present change; `attributes` is replaced as a whole."""

    email: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    company: str | None = None
    attributes: dict[str, str] | None = None
    owner_user_id: UUID | None = None


class CustomerOut(_Out):
    id: UUID
    email: str
    last_name: str
    first_name: str
    company: str
    attributes: dict[str, str]
    owner_user_id: UUID | None
    unsubscribed: bool = Field(description="Unsubscribed (配信停止): excluded from bulk mail.")
    unsubscribed_at: datetime | None
    bounced: bool = Field(description="Bounced (バウンス登録): excluded from bulk mail.")
    bounced_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_customer(cls, data: object) -> object:
        """A customer's two flags follow from its dates."""
        if not isinstance(data, Customer):
            return data
        flags = {
            "unsubscribed": data.unsubscribed_at is not None,
            "bounced": data.bounced_at is not None,
        }
        return {**asdict(data), **flags}


class CustomerPage(_Page):
    items: list[CustomerOut]
    next_after: UUID | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


class GroupIn(_Body):
    name: str
    description: str = ""


class GroupPatch(_Body):
    name: str | None = None
    description: str | None = None


class GroupOut(_Out):
    id: UUID
    name: str
    description: str
    member_count: int | None = Field(
        default=None, description="Number of members; given when one group is read."
    )
    created_at: datetime
    updated_at: datetime


class GroupPage(_Page):
    items: list[GroupOut]
    next_after: UUID | None


class GroupCheckIn(_Body):
    group_ids: list[UUID] = Field(max_length=1000, description="Ids to look for.")


class GroupCheckOut(BaseModel):
    unknown: list[UUID] = Field(
        description="The ids, each once and in order, that are no groups of the tenant."
    )


class MembersIn(_Body):
    customer_ids: list[UUID] = Field(min_length=1, max_length=1000)


class MembersAdded(BaseModel):
    added: list[UUID] = Field(description="Customers that joined the group.")
    already_members: int
    unknown: list[UUID] = Field(description="Ids that are no customer of the tenant.")


class RejectOut(BaseModel):
    line: int = Field(description="Line of the file where the row starts (1 = first line).")
    value: str = Field(description="The address or id the row names.")
    reason: str = Field(
        description="invalid_address, duplicate, invalid_owner, unknown_owner (no user of "
        "the tenant), too_long (customers); "
        "invalid_address, invalid_customer_id, missing_customer, unknown_customer, duplicate "
        "(memberships)."
    )


class ImportReportOut(BaseModel):
    format: str = Field(description="csv or ndjson.")
    rows: int = Field(description="Data rows read.")
    inserted: int = Field(description="Customers created, or memberships added.")
    updated: int = Field(description="Existing customers updated (on_existing=update).")
    unchanged: int = Field(description="Memberships that existed already.")
    rejected: int
    rejected_by_reason: dict[str, int]
    rejects: list[RejectOut] = Field(description="The first rejected rows, in file order.")
    rejects_truncated: bool = Field(description="More rows were rejected than listed.")

    @classmethod
    def of(cls, fmt: str, report: ImportReport) -> ImportReportOut:
        truncated = report.rejected > len(report.rejects)
        derived = {"format": fmt, "rejected": report.rejected, "rejects_truncated": truncated}
        return cls.model_validate(asdict(report) | derived)


class SuppressionOut(_Out):
    id: UUID
    address: str = Field(description="The address, in lower case.")
    reason: Reason = Field(description="unsubscribed, bounced or complained.")
    source: str = Field(
        description="How it was learnt: one_click, form, api (staff), smtp, dsn, "
        "address_change (an unsubscribed customer's new address), customer (from before)."
    )
    customer_id: UUID | None = Field(description="The customer it was learnt from, if any.")
    created_at: datetime = Field(description="When the address opted out.")


class SuppressionPage(_Page):
    items: list[SuppressionOut]
    next_after: UUID | None


class LiftIn(_Body):
    reason: str = Field(
        min_length=1, max_length=1000, description="Why the opt-out is lifted (kept)."
    )


class LiftOut(BaseModel):
    id: UUID
    entry: SuppressionOut = Field(description="The entry as it was before it was lifted.")
    lifted_at: datetime
    lifted_by: UUID = Field(description="The admin who lifted it.")
    reason: str = Field(description="Why it was lifted.")

    @classmethod
    def of(cls, lift: Lift) -> LiftOut:
        return cls(
            id=lift.id,
            entry=SuppressionOut.model_validate(lift.entry),
            lifted_at=lift.lifted_at,
            lifted_by=lift.lifted_by,
            reason=lift.note,
        )


class LiftPage(_Page):
    items: list[LiftOut]
    next_after: UUID | None
