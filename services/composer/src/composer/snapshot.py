"""The immutable snapshot a released campaign travels as (`CampaignScheduled`). Pure."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import ValidationError

from composer import from_rules
from composer.domain import Campaign, Directory, Tenant, User
from composer.rules import MAX_SNAPSHOT_BYTES
from contracts import Address, CampaignScheduled, Footer, StaffMember, encode, merge
from servicekit.errors import Invalid
from servicekit.outputs import fields_for


def staff_member(user: User) -> StaffMember:
    return StaffMember(user_id=user.id, name=user.name, email=user.email, signature=user.signature)


def footer(campaign: Campaign, tenant: Tenant) -> Footer:
    """The tenant's legal footer, on or off as the campaign has it."""
    switch = {
        "enabled": campaign.content.footer_enabled,
        "disabled_by_user_id": campaign.footer_disabled_by,
        "disabled_at": campaign.footer_disabled_at,
    }
    return Footer(**fields_for(Footer, tenant, switch))


def resolve_sender(campaign: Campaign, directory: Directory) -> tuple[Address, UUID | None, UUID]:
    """(From, the user behind it if any, default notification target) per SPEC §3.2–3.5."""
    content = campaign.content
    creator = campaign.created_by
    if content.sender_mode == "changed":
        return (
            Address(name=content.sender_name or "", email=content.sender_email or ""),
            None,
            creator,
        )
    if content.sender_mode == "on_behalf_user":
        user = directory.user(content.sender_user_id)
        if user is None:
            raise Invalid.one("sender_user_id", "no such user in this tenant")
        return Address(name=user.name, email=user.email), user.id, user.id
    if content.sender_mode == "on_behalf_registered":
        sender = directory.sender(content.sender_registered_id)
        if sender is None:
            raise Invalid.one("sender_registered_id", "no such registered sender in this tenant")
        # Notifications go to the user who created the campaign (SPEC §3.5).
        return Address(name=sender.name, email=sender.email), None, creator
    user = directory.user(creator)
    if user is None:
        raise Invalid.one("sender_mode", "the campaign's creator no longer exists")
    return Address(name=user.name, email=user.email), user.id, user.id


def build(campaign: Campaign, directory: Directory, *, now: datetime) -> CampaignScheduled:
    """The `CampaignScheduled` for `campaign` as it is now; raises Invalid if it cannot be."""
    content = campaign.content
    creator = directory.user(campaign.created_by)
    if creator is None:
        raise Invalid.one("created_by", "the campaign's creator no longer exists")
    sender, sender_user_id, notify_user_id = resolve_sender(campaign, directory)
    unverified = from_rules.unverified_from_errors(content, campaign.created_by, directory)
    if unverified:
        raise Invalid(unverified)
    tenant = directory.tenant
    try:
        # Footer and staff are validated here too: a bad value refuses the release.
        composed_now = {
            "occurred_at": now,
            "campaign_id": campaign.id,
            "html_body": content.html_body or None,
            "text_body": content.text_body or None,
            "merge_fields": merge.used_fields(
                content.subject, content.html_body, content.text_body
            ),
            "footer": footer(campaign, tenant),
            "sender": sender,
            "sender_user_id": sender_user_id,
            "notify_user_id": notify_user_id,
            "operator": staff_member(creator),
            "staff": [staff_member(u) for u in directory.users],
            "time_zone": tenant.time_zone,
            "signing_keys": from_rules.signing_keys(content, campaign.created_by, directory),
        }
        # The rest (subject, recipients, tracking, ...) is the content's and the campaign's.
        event = CampaignScheduled(**fields_for(CampaignScheduled, content, campaign, composed_now))
    except ValidationError as exc:
        raise Invalid.one("campaign", f"cannot be released as composed: {exc}") from exc
    if len(encode(event)) > MAX_SNAPSHOT_BYTES:
        raise Invalid.one(
            "campaign",
            f"too large to release: bodies, recipient lists and staff together exceed "
            f"{MAX_SNAPSHOT_BYTES} bytes",
        )
    return event
