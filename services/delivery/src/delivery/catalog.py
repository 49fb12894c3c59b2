"""Compiled campaigns of this process: compiled once, on first use, from the snapshot that
the CampaignScheduled consumer stored (in whichever delivery process consumed it)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from contracts import CampaignScheduled, decode
from delivery.ports import Campaigns
from delivery.render import CompiledCampaign, RenderConfig

log = logging.getLogger(__name__)


class CampaignCatalog:
    def __init__(self, campaigns: Campaigns, config: RenderConfig, *, capacity: int = 512) -> None:
        self._campaigns = campaigns
        self._config = config
        self._capacity = capacity
        self._compiled: OrderedDict[UUID, CompiledCampaign] = OrderedDict()
        #: Campaigns whose templates cannot be compiled: their messages fail, with the reason.
        self.broken: dict[UUID, str] = {}
        #: Set when a campaign arrives here, so that messages waiting for it go on at once.
        self.arrived = asyncio.Event()

    async def get_many(self, campaign_ids: Iterable[UUID]) -> dict[UUID, CompiledCampaign]:
        wanted = set(campaign_ids)
        missing = [cid for cid in wanted if cid not in self._compiled and cid not in self.broken]
        if missing:
            for snapshot in (await self._campaigns.load(missing)).values():
                self._add(decode(snapshot, CampaignScheduled))
        found = {}
        for cid in wanted:
            compiled = self._compiled.get(cid)
            if compiled is not None:
                self._compiled.move_to_end(cid)
                found[cid] = compiled
        return found

    def announce(self, campaign: CampaignScheduled) -> None:
        """A campaign was stored by this process."""
        if campaign.campaign_id not in self._compiled:
            self._add(campaign)
        self.arrived.set()

    def _add(self, campaign: CampaignScheduled) -> None:
        try:
            compiled = CompiledCampaign(campaign, self._config)
        except Exception as exc:  # a template we cannot handle must not stop the consumer
            log.exception("campaign %s cannot be compiled", campaign.campaign_id)
            self.broken[campaign.campaign_id] = f"cannot compile campaign: {exc!r}"[:300]
            return
        self._compiled[campaign.campaign_id] = compiled
        log.info("compiled campaign %s", campaign.campaign_id)
        while len(self._compiled) > self._capacity:
            self._compiled.popitem(last=False)
