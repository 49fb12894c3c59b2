"""Pure rules of the recipients service: addresses, ids, merge fields and audience plans."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from contracts import CampaignScheduled, RecipientSpec, StaffMember
from contracts.merge import ATTRIBUTE_PREFIX, FIELDS, is_known
from servicekit.errors import FieldError

# ---------------------------------------------------------------- errors


# ---------------------------------------------------------------- addresses and attributes

#: An ASCII dot-atom address with a dotted domain. Written so that Python's `re` and
#: PostgreSQL's regular expressions read it the same way: imports validate in SQL with it.
#: No bounded repetitions ({m,n}): PostgreSQL expands them into automata that made a
#: million-row check eight times slower; lengths are checked on their own.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$"
)
MAX_EMAIL = 254
MAX_LOCAL_PART = 64
_EMAIL = re.compile(EMAIL_PATTERN)

#: Attribute keys are usable as merge fields (`attr.<key>`), hence the same rule.
ATTRIBUTE_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_ATTRIBUTE_KEY = re.compile(ATTRIBUTE_KEY_PATTERN)
MAX_ATTRIBUTES = 100
MAX_TEXT = 1000


def is_valid_email(address: str) -> bool:
    local = address.partition("@")[0]
    return (
        len(address) <= MAX_EMAIL
        and len(local) <= MAX_LOCAL_PART
        and _EMAIL.match(address) is not None
    )


def is_valid_attribute_key(key: str) -> bool:
    return _ATTRIBUTE_KEY.match(key) is not None


def check_attributes(attributes: Mapping[str, str]) -> list[FieldError]:
    errors = [
        FieldError(f"attributes.{key}", "key must match " + ATTRIBUTE_KEY_PATTERN)
        for key in attributes
        if not is_valid_attribute_key(key)
    ]
    errors += [
        FieldError(f"attributes.{key}", f"value longer than {MAX_TEXT} characters")
        for key, value in attributes.items()
        if len(value) > MAX_TEXT
    ]
    if len(attributes) > MAX_ATTRIBUTES:
        errors.append(FieldError("attributes", f"more than {MAX_ATTRIBUTES} attributes"))
    return errors


# ---------------------------------------------------------------- ids

_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)


def new_id() -> UUID:
    """A UUIDv7: milliseconds first, so new rows append to the primary key."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    return UUID(int=value & _VERSION_MASK | 0x7000 << 64 | 0x8000 << 48)


def import_id_prefix() -> str:
    """The first 24 characters of the ids of one import's rows; SQL appends the row number
    as the last 12 hex digits. Time first like `new_id`, then 24 random bits that keep two
    imports of the same millisecond apart."""
    text = str(new_id())
    return text[:24]


class MessageIds:
    """Message ids of one campaign: uuid5(campaign id, customer id as text).

    The same campaign and customer always give the same id, so a replayed or resumed
    resolution republishes ids that delivery already knows. Computed here without the
    `uuid` module's objects because a large audience needs a million of them.
    """

    def __init__(self, campaign_id: UUID) -> None:
        self._namespace = campaign_id.bytes

    def of(self, customer_id: str) -> tuple[bytes, str]:
        """(16 raw bytes, canonical text) of the message id for `customer_id`."""
        raw = bytearray(hashlib.sha1(self._namespace + customer_id.encode()).digest()[:16])
        raw[6] = raw[6] & 0x0F | 0x50
        raw[8] = raw[8] & 0x3F | 0x80
        h = raw.hex()
        return bytes(raw), f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def message_id(campaign_id: UUID, customer_id: UUID) -> UUID:
    return uuid5(campaign_id, str(customer_id))


def audience_event_id(campaign_id: UUID) -> UUID:
    """The AudienceResolved of a campaign has one id, however often it is republished."""
    return uuid5(campaign_id, "AudienceResolved")


# ---------------------------------------------------------------- merge fields

ON_BEHALF = ("on_behalf_user", "on_behalf_registered")
SENDER_FIELDS = frozenset({"sender_name", "sender_email", "sender_signature"})
CUSTOMER_FIELDS = frozenset(FIELDS) - SENDER_FIELDS


def counts_for_exclusion(name: str) -> bool:
    """Whether a customer lacking this field's value is left out when the campaign excludes
    customers lacking merge values.

    Only fields of the customer count (the manual speaks of 顧客情報 without a value).
    `sender_*` describe the sender, not the customer; they render empty when missing. The
    composer refuses a send-on-behalf campaign using `sender_signature` when the operator's
    signature is empty (SPEC §3.6), so that case never reaches this service.
    `full_name` lacks a value only when both name parts are empty.
    """
    return name in CUSTOMER_FIELDS or (name.startswith(ATTRIBUTE_PREFIX) and is_known(name))


# ---------------------------------------------------------------- audience


class Exclusion(StrEnum):
    """Why a customer of the chosen customers and groups gets no mail, in order of
    precedence: a customer with several reasons is counted once, under the first."""

    EXCLUDED_CUSTOMER = "excluded_customer"
    EXCLUDED_GROUP = "excluded_group"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    BOUNCED = "bounced"
    MISSING_MERGE_VALUE = "missing_merge_value"


@dataclass(frozen=True)
class Sender:
    """Who a mail is from and who hears about its opens and clicks."""

    name: str
    email: str
    signature: str
    notify_user_id: UUID


@dataclass(frozen=True)
class AudiencePlan:
    """Everything the audience query needs, taken from a CampaignScheduled snapshot."""

    tenant_id: UUID
    campaign_id: UUID
    customer_ids: tuple[UUID, ...]
    include_group_ids: tuple[UUID, ...]
    exclude_group_ids: tuple[UUID, ...]
    excluded_customer_ids: tuple[UUID, ...]
    merge_fields: tuple[str, ...]
    required_fields: tuple[str, ...]
    sender: Sender
    owners: tuple[StaffMember, ...]
    #: bulk, individual or test: which opt-outs leave a customer out (see audience.sql).
    kind: str = "bulk"
    addresses: tuple[str, ...] = ()
    #: A test send: every recipient's mail goes there instead, under an id of its own.
    deliver_to: str | None = None
    #: Fragments also for those left out (a preview shows them with the reason).
    render_excluded: bool = False


def choosing(
    spec: RecipientSpec, merge_fields: Sequence[str], exclude_missing_merge: bool
) -> dict[str, Any]:
    """The parts of a plan that choose customers: the spec and the merge fields that count."""
    fields = tuple(name for name in dict.fromkeys(merge_fields) if is_known(name))
    return {
        "customer_ids": tuple(spec.customer_ids),
        "include_group_ids": tuple(spec.include_group_ids),
        "exclude_group_ids": tuple(spec.exclude_group_ids),
        "excluded_customer_ids": tuple(spec.excluded_customer_ids),
        "addresses": tuple(spec.addresses),
        "deliver_to": spec.deliver_to,
        "merge_fields": fields,
        "required_fields": tuple(f for f in fields if counts_for_exclusion(f))
        if exclude_missing_merge
        else (),
    }


def plan_audience(event: CampaignScheduled) -> AudiencePlan:
    staff = {member.user_id: member for member in (event.operator, *event.staff)}
    sender_user = staff.get(event.sender_user_id) if event.sender_user_id else None
    return AudiencePlan(
        tenant_id=event.tenant_id,
        campaign_id=event.campaign_id,
        kind=event.kind,
        **choosing(event.recipients, event.merge_fields, event.exclude_missing_merge),
        sender=Sender(
            name=event.sender.name,
            email=event.sender.email,
            # Sent on behalf, the logged-in user's (SPEC §3.6); else the sending user's.
            signature=event.operator.signature
            if event.sender_mode in ON_BEHALF
            else (sender_user.signature if sender_user else ""),
            notify_user_id=event.notify_user_id,
        ),
        # Owners are looked up among the staff of the snapshot; an owner who is not there
        # (e.g. a deleted user) leaves the customer with the campaign's sender.
        owners=tuple(staff.values()) if event.send_as_owner else (),
    )


def no_exclusions() -> dict[str, int]:
    return {reason.value: 0 for reason in Exclusion}


@dataclass(frozen=True)
class Checkpoint:
    """How far a campaign's resolution got: every recipient up to `last_customer_id` (in
    id order) was acknowledged by Kafka, and the counters cover exactly those customers."""

    last_customer_id: str | None = None
    published: int = 0
    excluded: Mapping[str, int] = field(default_factory=no_exclusions)
    completed: bool = False

    def advanced(self, last_customer_id: str, published: int, reasons: Iterable[str]) -> Checkpoint:
        excluded = dict(self.excluded)
        for reason in reasons:
            excluded[reason] = excluded.get(reason, 0) + 1
        return replace(
            self,
            last_customer_id=last_customer_id,
            published=self.published + published,
            excluded=excluded,
        )
