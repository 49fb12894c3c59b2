"""Events of one tenant's campaign, built for tests: its staff, messages, opens and clicks.
Importable as `notifier_tests_support`."""

from __future__ import annotations

import uuid as _uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from contracts import (
    Address,
    CampaignScheduled,
    Clicked,
    MessageSent,
    Opened,
    RecipientSpec,
    StaffMember,
    Timing,
    TrackingSettings,
    encode,
)
from notifier import routes
from notifier.domain import Hit
from notifier.wire import read_clicked, read_opened

HitEvent = TypeVar("HitEvent", Opened, Clicked)


@dataclass
class Scenario:
    """A tenant with a campaign, its staff and its messages, to build events from."""

    time_zone: str = "Asia/Tokyo"
    first_open: Timing = Timing.DAILY
    reopen: Timing = Timing.DAILY
    click: Timing = Timing.DAILY
    tenant_id: UUID = field(default_factory=_uuid.uuid4)
    campaign_id: UUID = field(default_factory=_uuid.uuid4)
    users: dict[str, StaffMember] = field(default_factory=dict)

    def user(self, key: str) -> StaffMember:
        if key not in self.users:
            tag = _uuid.uuid4().hex[:8]
            self.users[key] = StaffMember(
                user_id=_uuid.uuid4(), name=f"担当 {key}", email=f"{key}-{tag}@staff.example"
            )
        return self.users[key]

    def scheduled(self, at: datetime | None = None, **extra: Any) -> CampaignScheduled:
        operator = self.user("sender")
        return CampaignScheduled(
            tenant_id=self.tenant_id,
            occurred_at=at or datetime(2026, 11, 25, tzinfo=UTC),
            campaign_id=self.campaign_id,
            name="冬のセール",
            subject="【冬のセール】ご案内",
            recipients=RecipientSpec(),
            sender=Address(name=operator.name, email=operator.email),
            operator=operator,
            notify_user_id=operator.user_id,
            staff=list(self.users.values()),
            time_zone=self.time_zone,
            tracking=TrackingSettings(
                first_open_timing=self.first_open,
                reopen_timing=self.reopen,
                click_timing=self.click,
            ),
            **extra,
        )

    def sent(self, message_id: UUID, customer: str = "山田 太郎") -> MessageSent:
        return MessageSent(
            tenant_id=self.tenant_id,
            campaign_id=self.campaign_id,
            message_id=message_id,
            customer_id=_uuid.uuid5(message_id, "customer"),
            email=f"c-{message_id.hex[:8]}@customer.example",
            name=customer,
            notify_user_id=self.user("sender").user_id,
        )

    def opened(
        self, message_id: UUID, at: datetime, user: str = "sender", machine: bool = False
    ) -> Opened:
        reason = "image proxy" if machine else None
        return self._hit(Opened, message_id, at, user, machine, machine_reason=reason)

    def clicked(
        self,
        message_id: UUID,
        at: datetime,
        user: str = "sender",
        url: str = "https://shop.example/sale",
        machine: bool = False,
    ) -> Clicked:
        return self._hit(Clicked, message_id, at, user, machine, url=url)

    def _hit(
        self,
        event: type[HitEvent],
        message_id: UUID,
        at: datetime,
        user: str,
        machine: bool,
        **extra: Any,
    ) -> HitEvent:
        return event(
            tenant_id=self.tenant_id,
            occurred_at=at,
            campaign_id=self.campaign_id,
            message_id=message_id,
            customer_id=_uuid.uuid5(message_id, "customer"),
            notify_user_id=self.user(user).user_id,
            machine=machine,
            **extra,
        )


def to_hit(event: Opened | Clicked) -> Hit:
    """The hit the notifier makes of an event as it comes off the wire."""
    read = read_clicked if isinstance(event, Clicked) else read_opened
    return routes.to_hit(read(encode(event)))
