"""What a campaign refers to that another service owns: its groups live in recipients. An
id that is no group of the tenant would select nobody, or leave nobody out, without a word;
so every group a request names is looked up, with the caller's own key."""

from __future__ import annotations

from composer.ports import Audience
from contracts import RecipientSpec
from servicekit.errors import FieldError, Invalid

_GROUP_FIELDS = ("include_group_ids", "exclude_group_ids")


async def check_groups(spec: RecipientSpec, *, audience: Audience, api_key: str) -> None:
    named = [g for name in _GROUP_FIELDS for g in getattr(spec, name)]
    if not named:
        return
    unknown = set(await audience.unknown_groups(list(dict.fromkeys(named)), api_key))
    errors = [
        FieldError(f"recipients.{name}", f"no such group in this tenant: {group_id}")
        for name in _GROUP_FIELDS
        for group_id in getattr(spec, name)
        if group_id in unknown
    ]
    if errors:
        raise Invalid(errors)
