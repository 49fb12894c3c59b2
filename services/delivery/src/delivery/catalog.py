"""Compiled campaigns of this process: compiled once, when their snapshot comes in on the
recipient stream, or on first use from the snapshot another process stored; with the
signers of their sending domains, whose keys the snapshot carries encrypted."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from uuid import UUID

from contracts import CampaignScheduled, decode
from delivery.ports import Campaigns
from mailkit.keys import KeyVault, signers_for
from mailkit.render import CompiledCampaign, RenderConfig
from mailkit.signing import DkimSigner

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CampaignCatalog:
    campaigns: Campaigns
    config: RenderConfig
    vault: KeyVault | None = None
    _: KW_ONLY
    #: Compiled campaigns kept, the least recently used dropped first.
    capacity: int = 512
    _compiled: OrderedDict[UUID, CompiledCampaign] = field(default_factory=OrderedDict, init=False)
    #: Campaigns whose templates cannot be compiled: their messages fail, with the reason.
    broken: dict[UUID, str] = field(default_factory=dict, init=False)

    async def get_many(self, campaign_ids: Iterable[UUID]) -> dict[UUID, CompiledCampaign]:
        wanted = set(campaign_ids)
        missing = [cid for cid in wanted if cid not in self._compiled and cid not in self.broken]
        if missing:
            for snapshot in (await self.campaigns.load(missing)).values():
                self._add(decode(snapshot, CampaignScheduled))
        found = {}
        for cid in wanted:
            compiled = self._compiled.get(cid)
            if compiled is not None:
                self._compiled.move_to_end(cid)
                found[cid] = compiled
        return found

    def add(self, campaign: CampaignScheduled) -> None:
        """A snapshot read on the recipient stream (again after a restart: kept once)."""
        if campaign.campaign_id not in self._compiled and campaign.campaign_id not in self.broken:
            self._add(campaign)

    def _signers(self, campaign: CampaignScheduled) -> dict[str, DkimSigner]:
        """The campaign's sending domains' keys, decrypted once; a campaign that carries keys
        is never sent unsigned (without the secret it cannot be compiled)."""
        if not campaign.signing_keys:
            return {}
        if self.vault is None:
            raise ValueError("the campaign carries DKIM keys but SIGNING_KEYS_SECRET is unset")
        return signers_for(campaign.signing_keys, self.vault)

    def _add(self, campaign: CampaignScheduled) -> None:
        try:
            compiled = CompiledCampaign(campaign, self.config, self._signers(campaign))
        except Exception as exc:  # a template we cannot handle must not stop the consumer
            log.exception("campaign %s cannot be compiled", campaign.campaign_id)
            self.broken[campaign.campaign_id] = f"cannot compile campaign: {exc!r}"[:300]
            return
        self._compiled[campaign.campaign_id] = compiled
        log.info("compiled campaign %s", campaign.campaign_id)
        while len(self._compiled) > self.capacity:
            self._compiled.popitem(last=False)
