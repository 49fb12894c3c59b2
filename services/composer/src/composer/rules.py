"""Composing rules (SPEC §3, §4, §6): each returns the broken rules as field errors. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from composer.domain import ON_BEHALF, CampaignContent, Directory, User
from composer.sending_domains import mail_domain
from contracts import merge
from servicekit.auth import Principal, Role
from servicekit.errors import FieldError, Forbidden, Invalid

MAX_SUBJECT_CHARS = 998  # RFC 5322 line length: the subject must fit one header line
MAX_NAME_CHARS = 200
MAX_DISPLAY_NAME_CHARS = 256
MAX_SIGNATURE_CHARS = 10_000
# The released snapshot travels as one Kafka message (1 MiB by default): both bodies together
# and the explicit customer lists must leave room for the rest of it.
MAX_BODY_BYTES = 512 * 1024
MAX_CUSTOMER_IDS = 10_000
MAX_GROUPS = 15
MAX_SNAPSHOT_BYTES = 900 * 1024
MAX_SCHEDULE_AHEAD = timedelta(days=366)

_EMAIL = re.compile(r"^[^@\s<>\r\n]+@[^@\s<>\r\n]+\.[^@\s<>\r\n]+$")
_HEADER_BREAKERS = re.compile(r"[\r\n\x00]")
_ANY_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def header_text(field_name: str, value: str, *, limit: int) -> list[FieldError]:
    """Text that becomes part of a mail header: one line (no header injection), bounded."""
    if _HEADER_BREAKERS.search(value):
        return [FieldError(field_name, "must not contain CR, LF or NUL characters")]
    if len(value) > limit:
        return [FieldError(field_name, f"must be at most {limit} characters")]
    return []


def email_address(field_name: str, value: str | None) -> list[FieldError]:
    if not value:
        return [FieldError(field_name, "is required")]
    if len(value) > 254 or not _EMAIL.match(value):
        return [FieldError(field_name, "is not a valid email address")]
    return []


def time_zone(field_name: str, value: str) -> list[FieldError]:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return [FieldError(field_name, "is not a known IANA time zone (e.g. Asia/Tokyo)")]
    return []


def content_errors(content: CampaignContent) -> list[FieldError]:
    """Every rule that depends on the content alone; checked on each save."""
    return [
        *_subject_errors(content),
        *_body_errors(content),
        *_merge_field_errors(content),
        *_recipient_errors(content),
        *_sender_field_errors(content),
        *(
            [FieldError("name", f"must be at most {MAX_NAME_CHARS} characters")]
            if len(content.name) > MAX_NAME_CHARS
            else []
        ),
    ]


def _subject_errors(content: CampaignContent) -> list[FieldError]:
    if not content.subject.strip():
        return [FieldError("subject", "is required")]
    return header_text("subject", content.subject, limit=MAX_SUBJECT_CHARS)


def _body_errors(content: CampaignContent) -> list[FieldError]:
    errors: list[FieldError] = []
    if not (content.html_body or "").strip() and not (content.text_body or "").strip():
        errors.append(FieldError("body", "html_body or text_body is required"))
    for name, body in (("html_body", content.html_body), ("text_body", content.text_body)):
        if body and len(body.encode()) > MAX_BODY_BYTES:
            errors.append(FieldError(name, f"must be at most {MAX_BODY_BYTES} bytes (UTF-8)"))
    return errors


def _merge_field_errors(content: CampaignContent) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, text in (
        ("subject", content.subject),
        ("html_body", content.html_body),
        ("text_body", content.text_body),
    ):
        unknown = merge.unknown_fields(text) + _malformed_placeholders(text)
        if unknown:
            errors.append(
                FieldError(
                    name,
                    f"unknown merge field(s): {', '.join(unknown)}",
                    allowed=merge.allowed_description(),
                )
            )
    return errors


def _malformed_placeholders(text: str | None) -> list[str]:
    """`{{ ... }}` that is not a placeholder at all would reach recipients verbatim."""
    return [
        m.group(1).strip()
        for m in _ANY_PLACEHOLDER.finditer(text or "")
        if not merge.PLACEHOLDER.fullmatch(m.group(0))
    ]


def _recipient_errors(content: CampaignContent) -> list[FieldError]:
    spec = content.recipients
    errors: list[FieldError] = []
    if spec.deliver_to is not None:
        errors.append(FieldError("recipients.deliver_to", "is set by a test send, never composed"))
    if content.kind == "individual":
        return errors + _individual_errors(content)
    if spec.addresses:
        errors.append(FieldError("recipients.addresses", "only individual mail goes to addresses"))
    if not spec.customer_ids and not spec.include_group_ids:
        errors.append(
            FieldError("recipients", "at least one customer or included group is required")
        )
    include, exclude = set(spec.include_group_ids), set(spec.exclude_group_ids)
    if len(include) + len(exclude) > MAX_GROUPS:
        errors.append(
            FieldError(
                "recipients",
                f"at most {MAX_GROUPS} groups across include and exclude, "
                f"got {len(include) + len(exclude)}",
            )
        )
    if include & exclude:
        errors.append(FieldError("recipients", "a group cannot be both included and excluded"))
    for name in ("customer_ids", "excluded_customer_ids"):
        if len(getattr(spec, name)) > MAX_CUSTOMER_IDS:
            errors.append(
                FieldError(
                    f"recipients.{name}",
                    f"at most {MAX_CUSTOMER_IDS} customers one by one; use a group for more",
                )
            )
    return errors


def _individual_errors(content: CampaignContent) -> list[FieldError]:
    """1:1 mail goes to exactly one customer or one address, never to a group."""
    spec = content.recipients
    errors = [
        FieldError(f"recipients.{name}", "individual mail goes to one recipient, not to groups")
        for name in ("include_group_ids", "exclude_group_ids", "excluded_customer_ids")
        if getattr(spec, name)
    ]
    if len(spec.customer_ids) + len(spec.addresses) != 1:
        errors.append(
            FieldError(
                "recipients",
                "individual mail needs exactly one customer (customer_ids) or one address "
                "(addresses)",
            )
        )
    return errors


def _sender_field_errors(content: CampaignContent) -> list[FieldError]:
    mode = content.sender_mode
    if mode == "changed":
        return [
            *header_text("sender_name", content.sender_name or "", limit=MAX_DISPLAY_NAME_CHARS),
            *email_address("sender_email", content.sender_email),
        ]
    if mode == "on_behalf_user" and content.sender_user_id is None:
        return [FieldError("sender_user_id", "is required when sending on behalf of a user")]
    if mode == "on_behalf_registered" and content.sender_registered_id is None:
        return [
            FieldError(
                "sender_registered_id",
                "is required when sending on behalf of a registered sender",
            )
        ]
    return []


def check_sender_role(content: CampaignContent, actor: Principal) -> None:
    """SPEC §3.2, §3.4, §3.5, §11: only a manager or above may change the sender, send as
    the customers' owners, or send on behalf."""
    if actor.at_least(Role.MANAGER):
        return
    if content.sender_mode != "self":
        raise Forbidden(
            "sender_mode",
            "changing the sender or sending on behalf needs role manager or above",
        )
    if content.send_as_owner:
        raise Forbidden("send_as_owner", "sending as the owners needs role manager or above")


def sender_errors(content: CampaignContent, directory: Directory) -> list[FieldError]:
    """The chosen sender must belong to the caller's tenant."""
    mode = content.sender_mode
    if mode == "on_behalf_user" and directory.user(content.sender_user_id) is None:
        return [FieldError("sender_user_id", "no such user in this tenant")]
    if mode == "on_behalf_registered" and directory.sender(content.sender_registered_id) is None:
        return [FieldError("sender_registered_id", "no such registered sender in this tenant")]
    if mode == "changed" and content.sender_email:
        # An arbitrary From on someone else's domain would be spoofing and fail DMARC.
        known = directory.domains()
        if mail_domain(content.sender_email) not in known:
            return [
                FieldError(
                    "sender_email",
                    "must be on a sending domain of the tenant (see /v1/sending-domains)",
                    allowed=sorted(known),
                )
            ]
    return []


def signature_errors(content: CampaignContent, acting_user: User) -> list[FieldError]:
    """SPEC §3.6, kept as the manual says: the LOGGED-IN user's signature is what counts."""
    uses_signature = merge.SIGNATURE in merge.used_fields(
        content.subject, content.html_body, content.text_body
    )
    if content.sender_mode in ON_BEHALF and uses_signature and not acting_user.signature.strip():
        return [
            FieldError(
                "signature",
                "this campaign is sent on behalf and uses {{ sender_signature }}, "
                "but your own signature is empty: set it before sending",
            )
        ]
    return []


def parse_send_at(value: str, zone: str, now: datetime) -> datetime:
    """A date-time with offset, or a naive local one in the tenant's zone; returned in UTC."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid.one(
            "send_at", "is not an ISO 8601 date-time (e.g. 2030-04-01T09:00 or ...+09:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    when = when.astimezone(UTC)
    if when <= now:
        raise Invalid.one("send_at", "must be in the future")
    if when > now + MAX_SCHEDULE_AHEAD:
        raise Invalid.one("send_at", f"must be within {MAX_SCHEDULE_AHEAD.days} days")
    return when
