"""Builders of the events that mail is made from (a campaign snapshot, its recipients),
shared by the test tiers of the services and libraries that render mail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from contracts import (
    Address,
    CampaignScheduled,
    Footer,
    RecipientResolved,
    RecipientSpec,
    StaffMember,
    TrackingSettings,
)

TOKEN_SECRET = "1:" + "d3e1a5c7b9f20486" * 4
TRACKING = "https://t.example.test"


def campaign(**overrides: Any) -> CampaignScheduled:
    tenant = overrides.pop("tenant_id", uuid.uuid4())
    fields: dict[str, Any] = {
        "tenant_id": tenant,
        "campaign_id": uuid.uuid4(),
        "subject": "{{ last_name }}様へのご案内",
        "html_body": (
            "<html><body><p>{{ full_name }} 様</p>"
            '<p><a href="https://shop.example.com/sale?a=1&amp;b=2">セール</a></p>'
            "</body></html>"
        ),
        "text_body": "{{ full_name }} 様\nhttps://shop.example.com/sale?a=1&b=2\n",
        "recipients": RecipientSpec(),
        "sender": Address(name="営業部", email="sales@example.com"),
        "operator": StaffMember(user_id=uuid.uuid4(), name="Operator", email="op@example.com"),
        "notify_user_id": uuid.uuid4(),
        "footer": Footer(
            company_name="株式会社サンプル",
            postal_address="東京都千代田区丸の内1-1-1",
            contact="03-1234-5678",
        ),
        "tracking": TrackingSettings(),
    }
    fields.update(overrides)
    return CampaignScheduled(**fields)


def on_behalf(sender: Address, operator_email: str, **overrides: Any) -> CampaignScheduled:
    """A campaign that an operator (`operator_email`) sends in the name of `sender`."""
    operator = StaffMember(user_id=uuid.uuid4(), name="操作 担当", email=operator_email)
    return campaign(sender_mode="on_behalf_user", sender=sender, operator=operator, **overrides)


def recipient(c: CampaignScheduled, email: str, **overrides: Any) -> RecipientResolved:
    customer = overrides.pop("customer_id", uuid.uuid4())
    fields: dict[str, Any] = {
        "tenant_id": c.tenant_id,
        "campaign_id": c.campaign_id,
        "message_id": uuid.uuid5(c.campaign_id, str(customer)),
        "customer_id": customer,
        "email": email,
        "name": "山田 太郎",
        "merge_values": {"last_name": "山田", "first_name": "太郎", "full_name": "山田 太郎"},
        "sender": c.sender,
        "notify_user_id": c.notify_user_id,
    }
    fields.update(overrides)
    return RecipientResolved(**fields)


def bulk(count: int, domains: Sequence[str]) -> tuple[CampaignScheduled, list[RecipientResolved]]:
    """A campaign with an HTML part only, and `count` recipients `r<i>@` spread evenly over
    `domains`: for tests and benchmarks that count mail rather than read it."""
    c = campaign(
        subject="{{ last_name }}様へのお知らせ",
        html_body='<html><body><p>{{ full_name }} 様</p><p><a href="https://shop.example.com/">'
        "ご案内</a></p></body></html>",
        text_body=None,
        footer=Footer(),
    )
    recipients = [
        recipient(
            c,
            f"r{i}@{domains[i % len(domains)]}",
            name="",
            merge_values={"last_name": "山田", "full_name": f"山田 {i}"},
        )
        for i in range(count)
    ]
    return c, recipients


def unique_domain() -> str:
    return f"d{uuid.uuid4().hex[:10]}.example.net"
