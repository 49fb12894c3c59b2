"""A campaign as one chosen recipient would read it, and a test send of it to the user
asking (SPEC §10). Neither changes the campaign: a preview renders in this process; a test
send travels as its own `CampaignScheduled` (kind `test`, a fresh campaign id, tracking off),
so it never counts as the campaign's mail, never reaches the customer and never marks the
customer as sent."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID, uuid4

from composer import snapshot
from composer.domain import Campaign, Directory
from composer.handlers import directory_of, validate_for_sending
from composer.ports import Audience, Clock, Resolved, Store
from contracts import CampaignScheduled, RecipientResolved, RecipientSpec, TrackingSettings
from mailkit.render import CompiledCampaign, Preview, RenderConfig
from servicekit.auth import Principal
from servicekit.errors import Invalid, NotFound
from servicekit.tokens import TokenCodec

UNTRACKED = TrackingSettings(track_opens=False, track_clicks=False)


@dataclass(frozen=True)
class Asking:
    """Who asks, with the ports a preview or test send uses on their behalf."""

    actor: Principal
    api_key: str
    store: Store
    audience: Audience
    clock: Clock


@dataclass(frozen=True)
class Choice:
    """Whom to render for: a customer, an address, or (neither) the campaign's only one."""

    customer_id: UUID | None = None
    email: str | None = None


class Previewer:
    """Renders a snapshot for one recipient exactly as delivery would, except that its
    tokens are signed with a key nobody holds: a link followed from a preview changes
    nothing."""

    def __init__(self, tracking_base_url: str) -> None:
        self._config = RenderConfig(
            tracking_base_url=tracking_base_url,
            bounce_domain="invalid",
            codec=TokenCodec.from_secret(secrets.token_hex(32)),
        )

    def render(self, campaign: CampaignScheduled, recipient: RecipientResolved) -> Preview:
        return CompiledCampaign(campaign, self._config).preview(recipient)


@dataclass(frozen=True)
class Rendered:
    to: str
    preview: Preview
    excluded: str | None  # why the campaign itself would leave this recipient out


@dataclass(frozen=True)
class TestSend:
    test_id: UUID
    to: str
    excluded: str | None


async def preview(
    campaign_id: UUID, choice: Choice, asking: Asking, previewer: Previewer
) -> Rendered:
    campaign, directory = await _read(asking, campaign_id)
    trial = _trial(snapshot.build(campaign, directory, now=asking.clock.now()), choice, kind=None)
    found = await asking.audience.recipient(trial, asking.api_key)
    shown = previewer.render(trial, found.recipient)
    return Rendered(to=str(found.recipient.email), preview=shown, excluded=found.excluded)


async def test_send(campaign_id: UUID, choice: Choice, asking: Asking) -> TestSend:
    """The campaign rendered for the chosen recipient, sent to the caller's own address; every
    rule of a real send applies, so a test send that goes out means the campaign would too."""
    campaign, directory = await _read(asking, campaign_id)
    validate_for_sending(campaign, asking.actor, directory)
    me = directory.user(asking.actor.user_id)
    if me is None:
        raise NotFound("user")
    trial = _trial(snapshot.build(campaign, directory, now=asking.clock.now()), choice, kind="test")
    trial = trial.model_copy(
        update={"recipients": trial.recipients.model_copy(update={"deliver_to": me.email})}
    )
    # Asked first: an unknown customer is a 404 before anything is sent.
    found: Resolved = await asking.audience.recipient(trial, asking.api_key)
    async with asking.store.transaction() as tx:
        await tx.enqueue([trial])
    return TestSend(test_id=trial.campaign_id, to=me.email, excluded=found.excluded)


async def _read(asking: Asking, campaign_id: UUID) -> tuple[Campaign, Directory]:
    async with asking.store.transaction() as tx:
        campaign = await tx.campaign(asking.actor.tenant_id, campaign_id)
        if campaign is None:
            raise NotFound("campaign")
        return campaign, await directory_of(tx, asking.actor)


def _trial(event: CampaignScheduled, choice: Choice, *, kind: str | None) -> CampaignScheduled:
    """The snapshot narrowed to one recipient, untracked; a test send gets its own id."""
    spec = event.recipients
    if choice.customer_id is not None:
        one = RecipientSpec(customer_ids=[choice.customer_id])
    elif choice.email is not None:
        one = RecipientSpec(addresses=[choice.email])
    elif len(spec.customer_ids) + len(spec.addresses) == 1 and not spec.include_group_ids:
        one = RecipientSpec(customer_ids=spec.customer_ids, addresses=spec.addresses)
    else:
        raise Invalid.one("customer_id", "choose the customer to render the campaign for")
    update: dict[str, object] = {"recipients": one, "tracking": UNTRACKED}
    if kind is not None:
        update |= {"kind": kind, "campaign_id": uuid4(), "event_id": uuid4()}
    return event.model_copy(update=update)
