"""/v1/sending-domains: register a domain, show the DNS records to publish, check them,
rotate the DKIM keys, remove retired keys and domains. Admin only (SPEC §11)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from composer import domain_handlers
from composer.api.deps import BEARER_DOC, ClockDep, StoreDep
from composer.api.errors import ERROR_RESPONSES
from composer.domain_handlers import SendingTools
from composer.sending_domains import (
    DnsUnavailable,
    DomainStatus,
    Finding,
    KeyState,
    Purpose,
    Record,
    RecordType,
    SendingDomain,
    finding_for,
    records,
)
from servicekit.api_errors import error_responses
from servicekit.auth import CurrentPrincipal
from servicekit.errors import DomainError, FieldError
from servicekit.http import port
from servicekit.outputs import fields_for

router = APIRouter(
    prefix="/v1/sending-domains",
    tags=["sending domains"],
    responses=ERROR_RESPONSES,
    dependencies=[BEARER_DOC],
)
ToolsDep = Annotated[SendingTools, Depends(port("sending"))]


class DnsDown(DomainError):
    """The resolver did not answer: nothing was concluded or changed (503)."""

    status = 503


class DomainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(description="The domain of the From addresses, e.g. mail.example.co.jp.")
    ed25519: bool = Field(
        default=False, description="Also sign with an Ed25519 key (a second DKIM signature)."
    )


class RecordOut(BaseModel):
    type: RecordType
    name: str = Field(description="Owner name, without the final dot.")
    value: str = Field(
        description="Record data as a zone file writes it; TXT: quoted strings of at most "
        "255 bytes each, which DNS joins back into one value."
    )
    purpose: Purpose = Field(
        description="dkim: a key's public half; spf: the platform may send for the domain; "
        "dmarc: the domain's policy and report address; return_path: the bounce domain."
    )
    required: bool = Field(
        description="Needed for `verified` (the signing DKIM keys, SPF, DMARC); the others "
        "are advisory, or a rotation's new key (it signs once found)."
    )
    found: bool = Field(description="The last check found it as shown.")
    detail: str | None = Field(description="What the last check found instead.")
    selector: str | None = Field(description="DKIM selector (s=).")
    key_state: KeyState | None = Field(
        description="active: signs; pending: signs once found; retiring: replaced, keep it "
        "published until mail signed with it has arrived, then remove it."
    )

    @classmethod
    def of(cls, r: Record, finding: Finding | None) -> RecordOut:
        checked = {
            "found": bool(finding and finding.found),
            "detail": finding.detail if finding else None,
        }
        return cls(**fields_for(cls, r, checked))


class DomainOut(BaseModel):
    id: UUID
    domain: str
    status: DomainStatus = Field(
        description="pending: records not (yet) published; verified: every required record "
        "found; failed: a record is wrong, or was lost after verification."
    )
    ed25519: bool
    created_at: datetime
    verified_at: datetime | None
    checked_at: datetime | None
    records: list[RecordOut]

    @classmethod
    def of(cls, d: SendingDomain, tools: SendingTools) -> DomainOut:
        shown = [RecordOut.of(r, finding_for(r, d.findings)) for r in records(d, tools.policy)]
        return cls(**fields_for(cls, d, {"records": shown}))


@router.post("", status_code=201, summary="Register a domain; its DKIM keys are generated")
async def register(
    body: DomainIn, actor: CurrentPrincipal, store: StoreDep, tools: ToolsDep, clock: ClockDep
) -> DomainOut:
    domain = await domain_handlers.register(
        body.domain, ed25519=body.ed25519, actor=actor, store=store, tools=tools, clock=clock
    )
    return DomainOut.of(domain, tools)


@router.get("", summary="The tenant's sending domains")
async def list_domains(
    actor: CurrentPrincipal, store: StoreDep, tools: ToolsDep
) -> list[DomainOut]:
    return [
        DomainOut.of(d, tools) for d in await domain_handlers.list_domains(actor=actor, store=store)
    ]


@router.get("/{domain_id}", summary="One domain and its DNS records")
async def get(
    domain_id: UUID, actor: CurrentPrincipal, store: StoreDep, tools: ToolsDep
) -> DomainOut:
    return DomainOut.of(
        await domain_handlers.get_domain(domain_id, actor=actor, store=store), tools
    )


@router.post(
    "/{domain_id}/verify",
    summary="Look the records up in DNS now",
    responses=error_responses(503),
)
async def verify(
    domain_id: UUID, actor: CurrentPrincipal, store: StoreDep, tools: ToolsDep, clock: ClockDep
) -> DomainOut:
    try:
        checked = await domain_handlers.verify(
            domain_id, actor=actor, store=store, tools=tools, clock=clock
        )
    except DnsUnavailable as exc:
        raise DnsDown(
            [FieldError("dns", f"the resolver did not answer ({exc}); try again")]
        ) from exc
    return DomainOut.of(checked, tools)


@router.post("/{domain_id}/rotate", summary="New DKIM keys under new selectors")
async def rotate(
    domain_id: UUID, actor: CurrentPrincipal, store: StoreDep, tools: ToolsDep, clock: ClockDep
) -> DomainOut:
    rotated = await domain_handlers.rotate(
        domain_id, actor=actor, store=store, tools=tools, clock=clock
    )
    return DomainOut.of(rotated, tools)


@router.delete("/{domain_id}/keys/{selector}", summary="Remove a retiring or pending key")
async def remove_key(
    domain_id: UUID, selector: str, actor: CurrentPrincipal, store: StoreDep, tools: ToolsDep
) -> DomainOut:
    domain = await domain_handlers.remove_key(domain_id, selector, actor=actor, store=store)
    return DomainOut.of(domain, tools)


@router.delete("/{domain_id}", status_code=204, summary="Remove a sending domain")
async def delete(domain_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> Response:
    await domain_handlers.delete(domain_id, actor=actor, store=store)
    return Response(status_code=204)
