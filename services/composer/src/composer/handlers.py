"""Campaign commands: plain async functions over the ports. Each runs in one transaction;
every state change that others must learn about is enqueued to the outbox inside it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

from composer import domain, from_rules, rules, snapshot
from composer.domain import Campaign, CampaignContent, CampaignState, Directory, Progress
from composer.ports import Clock, FolderPage, Store, Tx
from contracts import CampaignCancelled, CampaignScheduled, UnknownResolution
from servicekit.auth import Principal
from servicekit.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

UnknownAction = Literal["resend", "give_up"]


async def create_campaign(
    content: CampaignContent, *, actor: Principal, store: Store, clock: Clock
) -> Campaign:
    async with store.transaction() as tx:
        directory = await directory_of(tx, actor)
        _validate(content, actor, directory)
        now = clock.now()
        campaign = Campaign(
            id=uuid4(),
            tenant_id=actor.tenant_id,
            content=CampaignContent(),
            created_by=actor.user_id,
            created_at=now,
            updated_by=actor.user_id,
            updated_at=now,
        )
        domain.set_content(campaign, content, actor, now)
        await tx.save_campaign(campaign)
    campaign.warnings = from_rules.unverified_from_errors(content, actor.user_id, directory)
    return campaign


async def update_campaign(
    campaign_id: UUID,
    changes: Mapping[str, object],
    *,
    actor: Principal,
    store: Store,
    clock: Clock,
) -> Campaign:
    """Changes some fields of a draft; the result must pass every rule, as on create."""
    async with store.transaction() as tx:
        campaign = await _changeable(tx, actor, campaign_id)
        domain.ensure_draft(campaign, "edited")
        content = CampaignContent.model_validate(campaign.content.model_dump() | dict(changes))
        directory = await directory_of(tx, actor)
        _validate(content, actor, directory)
        domain.set_content(campaign, content, actor, clock.now())
        await tx.save_campaign(campaign)
    campaign.warnings = from_rules.unverified_from_errors(content, campaign.created_by, directory)
    return campaign


async def get_campaign(campaign_id: UUID, *, actor: Principal, store: Store) -> Campaign:
    campaign = await store.campaign(actor.tenant_id, campaign_id)
    if campaign is None:
        raise NotFound("campaign")
    return campaign


async def list_campaigns(
    folder: str,
    *,
    actor: Principal,
    store: Store,
    limit: int = 50,
    after: tuple[datetime, UUID] | None = None,
) -> list[Campaign]:
    state = domain.FOLDERS.get(folder)
    if state is None:
        raise Invalid.one("folder", f"must be one of {', '.join(domain.FOLDERS)}")
    return await store.list_campaigns(actor.tenant_id, FolderPage(state, limit, after))


async def delete_campaign(campaign_id: UUID, *, actor: Principal, store: Store) -> None:
    async with store.transaction() as tx:
        campaign = await _changeable(tx, actor, campaign_id)
        domain.ensure_draft(campaign, "deleted")
        await tx.delete_campaign(actor.tenant_id, campaign_id)


async def send_now(campaign_id: UUID, *, actor: Principal, store: Store, clock: Clock) -> Campaign:
    """Draft -> sending, with its `CampaignScheduled` in the same transaction."""
    async with store.transaction() as tx:
        campaign = await _changeable(tx, actor, campaign_id)
        domain.ensure_draft(campaign, "sent now")
        now = clock.now()
        directory = await directory_of(tx, actor)
        validate_for_sending(campaign, actor, directory)
        await _release(tx, campaign, snapshot.build(campaign, directory, now=now), now)
    return campaign


async def schedule_campaign(
    campaign_id: UUID, send_at: str, *, actor: Principal, store: Store, clock: Clock
) -> Campaign:
    """Draft -> scheduled; the release scheduler sends it when its time comes."""
    async with store.transaction() as tx:
        campaign = await _changeable(tx, actor, campaign_id)
        domain.ensure_draft(campaign, "scheduled")
        now = clock.now()
        directory = await directory_of(tx, actor)
        at = rules.parse_send_at(send_at, directory.tenant.time_zone, now)
        validate_for_sending(campaign, actor, directory)
        domain.schedule(campaign, at, actor, now)
        snapshot.build(campaign, directory, now=now)  # refuse now what release would refuse
        await tx.save_campaign(campaign)
    return campaign


async def cancel_campaign(
    campaign_id: UUID, *, actor: Principal, store: Store, clock: Clock
) -> Campaign:
    """Scheduled -> draft. The row lock makes this and a release exclusive: one of them waits
    for the other and then finds the state changed."""
    async with store.transaction() as tx:
        campaign = await _changeable(tx, actor, campaign_id)
        domain.cancel(campaign, actor, clock.now())
        await tx.save_campaign(campaign)
        await tx.enqueue(
            [
                CampaignCancelled(
                    tenant_id=campaign.tenant_id,
                    campaign_id=campaign.id,
                    cancelled_by_user_id=actor.user_id,
                )
            ]
        )
    return campaign


async def resolve_unknown(
    campaign_id: UUID, action: UnknownAction, *, actor: Principal, store: Store
) -> int:
    """An operator's decision about the messages whose outcome nobody knows (their SMTP
    transaction was in flight when a delivery process died): `resend` them (a recipient
    may then get the mail twice) or `give_up` (counted as failed). Returns how many there
    are now; delivery applies the decision and reports the new counts."""
    async with store.transaction() as tx:
        campaign = await _changeable(tx, actor, campaign_id)
        progress = await tx.progress(actor.tenant_id, campaign_id)
        if campaign.state not in (CampaignState.SENDING, CampaignState.SENT) or progress is None:
            raise Conflict("only a released campaign has messages", state=str(campaign.state))
        if progress.unknown == 0:
            raise Conflict("no message of this campaign has an unknown outcome", field="unknown")
        await tx.enqueue(
            [
                UnknownResolution(
                    tenant_id=campaign.tenant_id,
                    campaign_id=campaign.id,
                    action=action,
                    requested_by_user_id=actor.user_id,
                )
            ]
        )
    return progress.unknown


async def get_progress(
    campaign_id: UUID, *, actor: Principal, store: Store
) -> tuple[Campaign, Progress]:
    campaign = await get_campaign(campaign_id, actor=actor, store=store)
    progress = await store.progress(actor.tenant_id, campaign_id)
    return campaign, progress or Progress(campaign.id, campaign.tenant_id)


async def release_due(*, store: Store, clock: Clock, limit: int = 100) -> list[UUID]:
    """Releases the scheduled campaigns whose time has come; returns their ids.

    A campaign that can no longer be released as composed (e.g. its on-behalf user was
    removed) goes back to drafts with the reason, rather than blocking the queue."""
    released: list[UUID] = []
    async with store.transaction() as tx:
        now = clock.now()
        directories: dict[UUID, Directory | None] = {}
        for campaign in await tx.due_campaigns(now, limit):
            if campaign.tenant_id not in directories:
                directories[campaign.tenant_id] = await tx.directory(campaign.tenant_id)
            directory = directories[campaign.tenant_id]
            try:
                if directory is None:
                    raise Invalid.one("tenant", "no longer exists")
                event = snapshot.build(campaign, directory, now=now)
            except Invalid as exc:
                log.warning("campaign %s not released, back to drafts: %s", campaign.id, exc)
                domain.return_to_drafts(campaign, str(exc), now)
                await tx.save_campaign(campaign)
                continue
            await _release(tx, campaign, event, now)
            released.append(campaign.id)
    return released


# ---------------------------------------------------------------- helpers


async def _release(tx: Tx, campaign: Campaign, event: CampaignScheduled, now: datetime) -> None:
    """-> sending, its progress row, and its snapshot in the outbox: all in `tx`."""
    domain.release(campaign, now)
    await tx.save_campaign(campaign)
    await tx.save_progress(Progress(campaign.id, campaign.tenant_id))
    await tx.enqueue([event])


async def _campaign(tx: Tx, actor: Principal, campaign_id: UUID) -> Campaign:
    campaign = await tx.campaign(actor.tenant_id, campaign_id)
    if campaign is None:
        raise NotFound("campaign")
    return campaign


async def _changeable(tx: Tx, actor: Principal, campaign_id: UUID) -> Campaign:
    campaign = await _campaign(tx, actor, campaign_id)
    domain.may_change(campaign, actor)
    return campaign


async def directory_of(tx: Tx, actor: Principal) -> Directory:
    directory = await tx.directory(actor.tenant_id)
    if directory is None:
        raise NotFound("tenant")
    return directory


def _validate(content: CampaignContent, actor: Principal, directory: Directory) -> None:
    rules.check_sender_role(content, actor)
    errors = rules.content_errors(content) + rules.sender_errors(content, directory)
    if errors:
        raise Invalid(errors)


def validate_for_sending(campaign: Campaign, actor: Principal, directory: Directory) -> None:
    """Every save rule again (the tenant may have changed since), plus the signature rule."""
    _validate(campaign.content, actor, directory)
    acting_user = directory.user(actor.user_id)
    if acting_user is None:
        raise NotFound("user")
    errors = rules.signature_errors(campaign.content, acting_user)
    if errors:
        raise Invalid(errors)
