"""Customers (顧客情報) and customer groups (顧客グループ) as the service stores them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from recipients.domain import MAX_TEXT, check_attributes, is_valid_email
from servicekit.byname import from_attributes
from servicekit.errors import FieldError, Invalid

EDITABLE = ("email", "last_name", "first_name", "company", "attributes", "owner_user_id")


@dataclass(frozen=True)
class CustomerInput:
    """What staff may set on a customer."""

    email: str
    last_name: str = ""
    first_name: str = ""
    company: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    owner_user_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class Customer(CustomerInput):
    """A stored customer: what staff set, and what the service keeps about it."""

    id: UUID
    unsubscribed_at: datetime | None
    bounced_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def as_input(self) -> CustomerInput:
        return from_attributes(CustomerInput, self)


@dataclass(frozen=True)
class Group:
    id: UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    member_count: int | None = None


def checked(customer: CustomerInput) -> CustomerInput:
    """The input with its address trimmed; raises Invalid listing every broken rule."""
    customer = replace(customer, email=customer.email.strip())
    errors = [] if is_valid_email(customer.email) else [FieldError("email", "not a valid address")]
    errors += [
        FieldError(name, f"longer than {MAX_TEXT} characters")
        for name in ("last_name", "first_name", "company")
        if len(getattr(customer, name)) > MAX_TEXT
    ]
    errors += check_attributes(customer.attributes)
    if errors:
        raise Invalid(errors)
    return customer


def patched(current: Customer, changes: Mapping[str, Any]) -> CustomerInput:
    """The customer with the given fields replaced (attributes as a whole)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(FieldError(name, "cannot be changed") for name in sorted(unknown))
    return checked(replace(current.as_input(), **changes))


def check_group_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise Invalid.one("name", "must not be empty")
    if len(name) > 200:
        raise Invalid.one("name", "longer than 200 characters")
    return name


@dataclass(frozen=True)
class Reject:
    """A row an import left out, and why."""

    line: int
    value: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    rows: int
    inserted: int
    updated: int = 0
    unchanged: int = 0
    rejected_by_reason: Mapping[str, int] = field(default_factory=dict)
    rejects: tuple[Reject, ...] = ()

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


class Reason(StrEnum):
    """Why an address is kept out of bulk mail (配信停止, バウンス登録, an ARF complaint)."""

    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


@dataclass(frozen=True)
class Suppression:
    """An address of a tenant that opted out; it outlives the customer it was learnt from."""

    id: UUID
    address: str
    reason: Reason
    source: str
    customer_id: UUID | None
    created_at: datetime


@dataclass(frozen=True)
class Lift:
    """A suppression an admin lifted: who, when and why."""

    id: UUID
    entry: Suppression
    lifted_at: datetime
    lifted_by: UUID
    note: str
