"""The parts a campaign's snapshot (`CampaignScheduled`) is made of.

The rules for changing these models are in the package docstring (`contracts/__init__.py`).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from contracts.base import EmailAddress, HeaderText, Model, Timing


class RecipientSpec(Model):
    """Who a campaign goes to, as composed. Resolution happens in the recipients service."""

    customer_ids: list[UUID] = Field(default=[], description="Customers chosen one by one.")
    include_group_ids: list[UUID] = Field(default=[], description="Groups marked 'send'.")
    exclude_group_ids: list[UUID] = Field(
        default=[], description="Groups marked 'do not send': their members are excluded."
    )
    excluded_customer_ids: list[UUID] = Field(
        default=[], description="Customers excluded one by one (e.g. inside an included group)."
    )
    addresses: list[EmailAddress] = Field(
        default=[],
        description="Addresses that are no customer (individual mail): resolved on their "
        "own, with only `email` as merge value.",
    )
    deliver_to: EmailAddress | None = Field(
        default=None,
        description="Test sends: every recipient's mail goes to this address instead.",
    )


class RecipientSpecIn(RecipientSpec):
    """A recipients spec as an API request takes it: a misspelt field (`exclude_group_id`)
    would otherwise be dropped and mail the people meant to be left out, so it is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TrackingSettings(Model):
    track_opens: bool = Field(default=True, description="Add an open pixel to the HTML part.")
    track_clicks: bool = Field(default=True, description="Rewrite links through tracking.")
    first_open_timing: Timing = Field(
        default=Timing.DAILY, description="Digest timing for first opens."
    )
    reopen_timing: Timing = Field(default=Timing.DAILY, description="Digest timing for re-opens.")
    click_timing: Timing = Field(default=Timing.DAILY, description="Digest timing for clicks.")


class Footer(Model):
    """The legal footer (Act on Specified Electronic Mail): unsubscribe link and address."""

    enabled: bool = Field(default=True, description="Append the footer to every mail.")
    company_name: str = Field(default="", description="Tenant's company name.")
    postal_address: str = Field(default="", description="Tenant's postal address.")
    contact: str = Field(default="", description="Sender contact (phone or address).")
    disabled_by_user_id: UUID | None = Field(
        default=None, description="Who turned the footer off (set when enabled is false)."
    )
    disabled_at: AwareDatetime | None = Field(default=None, description="When it was turned off.")


class StaffMember(Model):
    """A user of the tenant as known when the campaign was released."""

    user_id: UUID
    name: HeaderText = ""
    email: EmailAddress
    signature: str = Field(default="", description="Signature text; may be empty.")


SenderMode = Literal["self", "changed", "on_behalf_user", "on_behalf_registered"]

CampaignKind = Literal["bulk", "individual", "test"]


class SigningKey(Model):
    """A DKIM key of a tenant's sending domain, as delivery needs it to sign."""

    domain: str = Field(description="The sending domain (d=), lower case.")
    selector: str = Field(description="DKIM selector (s=).")
    algorithm: Literal["rsa-sha256", "ed25519-sha256"]
    private_key: str = Field(
        description="The PKCS#8 PEM key, encrypted for delivery (Fernet token); never clear."
    )
