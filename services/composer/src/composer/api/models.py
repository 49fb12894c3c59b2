"""Response bodies of the HTTP API (requests reuse the handlers' input models)."""

from __future__ import annotations

import base64
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from composer.accounts import IssuedKey
from composer.domain import Campaign, CampaignContent, Progress, RegisteredSender, Tenant, User
from composer.handlers import UnknownAction
from composer.previews import Choice, Rendered, TestSend
from contracts.base import EmailAddress
from servicekit.api_errors import ErrorItem
from servicekit.auth import Principal
from servicekit.errors import Invalid
from servicekit.outputs import fields_for


class FooterOut(BaseModel):
    enabled: bool
    disabled_by_user_id: UUID | None = Field(description="Who turned the footer off.")
    disabled_at: datetime | None = Field(description="When it was turned off.")


class CampaignOut(CampaignContent):
    id: UUID
    state: str = Field(description="draft, scheduled, sending or sent.")
    folder: str = Field(description="drafts, scheduled, sending or sent.")
    merge_fields: list[str] = Field(description="Merge fields used, in order of first use.")
    footer: FooterOut
    created_by: UUID
    created_at: datetime
    updated_by: UUID
    updated_at: datetime
    scheduled_for: datetime | None = Field(description="Release time (UTC).")
    scheduled_by: UUID | None
    released_at: datetime | None
    completed_at: datetime | None
    cancelled_by: UUID | None = Field(description="Who cancelled the last schedule.")
    cancelled_at: datetime | None
    last_error: str | None = Field(
        description="Why a scheduled campaign could not be released and went back to drafts."
    )
    warnings: list[ErrorItem] = Field(
        default=[],
        description="When a draft is saved: what send and schedule would refuse as it is "
        "now, e.g. a From on a sending domain not verified yet.",
    )

    @classmethod
    def of(cls, c: Campaign) -> CampaignOut:
        footer = FooterOut(
            enabled=c.content.footer_enabled,
            disabled_by_user_id=c.footer_disabled_by,
            disabled_at=c.footer_disabled_at,
        )
        warnings = [
            ErrorItem(field=w.field, reason=w.reason, allowed=w.allowed) for w in c.warnings
        ]
        extra = {"state": str(c.state), "footer": footer, "warnings": warnings}
        return cls(**fields_for(cls, c.content, c, extra))


class CampaignSummary(BaseModel):
    id: UUID
    state: str
    folder: str
    name: str
    subject: str
    sender_mode: str
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    scheduled_for: datetime | None
    released_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, c: Campaign) -> CampaignSummary:
        return cls(**fields_for(cls, c.content, c, {"state": str(c.state)}))


class CampaignPage(BaseModel):
    items: list[CampaignSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


def encode_cursor(c: Campaign, folder: str) -> str:
    key = c.scheduled_for if folder == "scheduled" and c.scheduled_for else c.updated_at
    return base64.urlsafe_b64encode(f"{key.isoformat()}|{c.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        key, _, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(key), UUID(last_id)
    except ValueError:
        raise Invalid.one("cursor", "is not a cursor this API returned") from None


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send_at: str = Field(
        description="ISO 8601 date-time; with an offset (2030-04-01T09:00+09:00) or without "
        "one (2030-04-01T09:00), then read in the tenant's time zone. Must be in the future.",
        examples=["2030-04-01T09:00"],
    )


class RecipientChoice(BaseModel):
    """Whom a preview or test send renders for; neither: the campaign's only recipient."""

    model_config = ConfigDict(extra="forbid")

    customer_id: UUID | None = Field(default=None, description="A customer of the tenant.")
    email: EmailAddress | None = Field(
        default=None, description="An address (individual mail to someone not a customer)."
    )

    def choice(self) -> Choice:
        if self.customer_id is not None and self.email is not None:
            raise Invalid.one("customer_id", "give a customer or an address, not both")
        return Choice(customer_id=self.customer_id, email=self.email)


class PreviewOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    to: str = Field(description="The recipient's address.")
    from_: str = Field(alias="from", description="From, as the recipient sees it.")
    sender: str | None = Field(description="Sender header: who sends on the author's behalf.")
    reply_to: str | None
    subject: str
    html: str
    text: str
    excluded: str | None = Field(
        description="Why the campaign would leave this recipient out (e.g. unsubscribed)."
    )

    @classmethod
    def of(cls, r: Rendered) -> PreviewOut:
        headers = {"from_": r.preview.sender, "sender": r.preview.on_behalf_of}
        return cls(**fields_for(cls, r.preview, r, headers))


class TestSendOut(BaseModel):
    test_id: UUID = Field(description="The test's own campaign id (its mail's X-Campaign-ID).")
    to: str = Field(description="The caller's address: the only one the test goes to.")
    excluded: str | None = Field(
        description="Why the campaign itself would leave the chosen recipient out."
    )

    @classmethod
    def of(cls, t: TestSend) -> TestSendOut:
        return cls(**fields_for(cls, t))


class UnknownIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: UnknownAction = Field(
        description="resend: send them again (a recipient whose mail did arrive gets it "
        "twice); give_up: count them as failed."
    )


class UnknownOut(BaseModel):
    action: str
    unknown: int = Field(description="Messages the decision applies to, as last reported.")


class ProgressOut(BaseModel):
    state: str
    total: int = Field(description="Recipients after exclusions (audience size).")
    sent: int
    bounced: int
    soft_bounced: int
    failed: int
    unknown: int
    suppressed: int
    deferred: int = Field(description="Waiting for another attempt after a temporary failure.")
    excluded: dict[str, int] = Field(description="Customers left out, by reason.")
    excluded_total: int
    opens: int
    clicks: int
    machine_opens: int = Field(description="Opens flagged as automatic (not in `opens`).")
    machine_clicks: int = Field(description="Clicks flagged as automatic (not in `clicks`).")
    completed: bool = Field(description="Every recipient of the audience reached a final state.")

    @classmethod
    def of(cls, c: Campaign, p: Progress) -> ProgressOut:
        derived = {"state": str(c.state), "excluded_total": sum(p.excluded.values())}
        return cls(**fields_for(cls, p, derived))


class TenantOut(BaseModel):
    id: UUID
    company_name: str
    postal_address: str
    contact: str
    time_zone: str

    @classmethod
    def of(cls, t: Tenant) -> TenantOut:
        return cls(**fields_for(cls, t))


class UserOut(BaseModel):
    id: UUID
    tenant_id: UUID
    name: str
    email: str
    signature: str
    role: str

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(**fields_for(cls, u, {"role": str(u.role)}))


class KeyOut(BaseModel):
    key_id: str
    api_key: str = Field(description="Shown once; only its hash is stored.")
    user_id: UUID

    @classmethod
    def of(cls, k: IssuedKey) -> KeyOut:
        return cls(**fields_for(cls, k))


class UserCreated(UserOut):
    key_id: str
    api_key: str = Field(description="The new user's API key; shown once.")


class SenderOut(BaseModel):
    id: UUID
    name: str
    email: str
    created_by: UUID

    @classmethod
    def of(cls, s: RegisteredSender) -> SenderOut:
        return cls(**fields_for(cls, s))


class IntrospectOut(BaseModel):
    tenant_id: UUID
    user_id: UUID
    role: str

    @classmethod
    def of(cls, p: Principal) -> IntrospectOut:
        return cls(**fields_for(cls, p, {"role": str(p.role)}))
