"""Response bodies of the HTTP API (requests reuse the handlers' input models)."""

from __future__ import annotations

import base64
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from composer.accounts import IssuedKey
from composer.domain import Campaign, CampaignContent, Progress, RegisteredSender, Tenant, User
from servicekit.errors import Invalid


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

    @classmethod
    def of(cls, c: Campaign) -> CampaignOut:
        return cls(
            **c.content.model_dump(),
            id=c.id,
            state=str(c.state),
            folder=c.folder,
            merge_fields=c.merge_fields,
            footer=FooterOut(
                enabled=c.content.footer_enabled,
                disabled_by_user_id=c.footer_disabled_by,
                disabled_at=c.footer_disabled_at,
            ),
            created_by=c.created_by,
            created_at=c.created_at,
            updated_by=c.updated_by,
            updated_at=c.updated_at,
            scheduled_for=c.scheduled_for,
            scheduled_by=c.scheduled_by,
            released_at=c.released_at,
            completed_at=c.completed_at,
            cancelled_by=c.cancelled_by,
            cancelled_at=c.cancelled_at,
            last_error=c.last_error,
        )


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
        return cls(
            id=c.id,
            state=str(c.state),
            folder=c.folder,
            name=c.content.name,
            subject=c.content.subject,
            sender_mode=c.content.sender_mode,
            created_by=c.created_by,
            created_at=c.created_at,
            updated_at=c.updated_at,
            scheduled_for=c.scheduled_for,
            released_at=c.released_at,
            completed_at=c.completed_at,
        )


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
        return cls(
            state=str(c.state),
            total=p.total,
            sent=p.sent,
            bounced=p.bounced,
            soft_bounced=p.soft_bounced,
            failed=p.failed,
            unknown=p.unknown,
            suppressed=p.suppressed,
            deferred=p.deferred,
            excluded=p.excluded,
            excluded_total=sum(p.excluded.values()),
            opens=p.opens,
            clicks=p.clicks,
            machine_opens=p.machine_opens,
            machine_clicks=p.machine_clicks,
            completed=p.completed,
        )


class TenantOut(BaseModel):
    id: UUID
    company_name: str
    postal_address: str
    contact: str
    time_zone: str

    @classmethod
    def of(cls, t: Tenant) -> TenantOut:
        return cls(**vars(t))


class UserOut(BaseModel):
    id: UUID
    tenant_id: UUID
    name: str
    email: str
    signature: str
    role: str

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id,
            tenant_id=u.tenant_id,
            name=u.name,
            email=u.email,
            signature=u.signature,
            role=str(u.role),
        )


class KeyOut(BaseModel):
    key_id: str
    api_key: str = Field(description="Shown once; only its hash is stored.")
    user_id: UUID

    @classmethod
    def of(cls, k: IssuedKey) -> KeyOut:
        return cls(key_id=k.key_id, api_key=k.api_key, user_id=k.user_id)


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
        return cls(id=s.id, name=s.name, email=s.email, created_by=s.created_by)


class IntrospectOut(BaseModel):
    tenant_id: UUID
    user_id: UUID
    role: str
