"""Every From of a campaign on a verified sending domain of the tenant (SPEC §9.1), and the
DKIM keys its snapshot carries for those domains. Pure."""

from __future__ import annotations

from uuid import UUID

from composer.domain import CampaignContent, Directory
from composer.sending_domains import mail_domain
from contracts import SigningKey
from servicekit.errors import FieldError


def from_addresses(
    content: CampaignContent, created_by: UUID, directory: Directory
) -> list[tuple[str, str, str]]:
    """(field, whose address, address) of every From the campaign may send with: its
    sender and, with send-as-owner, every staff member (any of them may own customers)."""
    mode = content.sender_mode
    found: list[tuple[str, str, str]] = []
    if mode == "changed" and content.sender_email:
        found.append(("sender_email", "the changed sender", content.sender_email))
    elif mode == "on_behalf_user" and (user := directory.user(content.sender_user_id)):
        found.append(("sender_user_id", f"user {user.name}", user.email))
    elif mode == "on_behalf_registered" and (
        sender := directory.sender(content.sender_registered_id)
    ):
        found.append(("sender_registered_id", f"registered sender {sender.name}", sender.email))
    elif mode == "self" and (creator := directory.user(created_by)):
        found.append(("sender_mode", f"the creator {creator.name}", creator.email))
    if content.send_as_owner:
        found += [("send_as_owner", f"owner {u.name}", u.email) for u in directory.users]
    return found


def unverified_from_errors(
    content: CampaignContent, created_by: UUID, directory: Directory
) -> list[FieldError]:
    """One error per field whose From addresses are not all on verified domains."""
    verified = directory.verified_domains()
    allowed = sorted(verified)
    offending: dict[str, list[str]] = {}
    for field_name, whose, address in from_addresses(content, created_by, directory):
        if mail_domain(address) not in verified:
            offending.setdefault(field_name, []).append(f"{address} ({whose})")
    return [
        FieldError(
            field_name,
            f"the mail would be sent from {', '.join(addresses)}, which is not on a verified "
            "sending domain of the tenant: register and verify its domain, or choose "
            "another sender",
            allowed=allowed,
        )
        for field_name, addresses in offending.items()
    ]


def signing_keys(
    content: CampaignContent, created_by: UUID, directory: Directory
) -> list[SigningKey]:
    """The signing keys (sealed as stored) of every domain the campaign may send from."""
    verified = directory.verified_domains()
    names = {mail_domain(a) for _, _, a in from_addresses(content, created_by, directory)}
    return [
        SigningKey(
            domain=verified[name].domain,
            selector=key.selector,
            algorithm=key.algorithm,
            private_key=key.sealed_private_key,
        )
        for name in sorted(names)
        if name in verified
        for key in verified[name].signing_keys()
    ]
