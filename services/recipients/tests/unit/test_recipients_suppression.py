"""Bounced and Unsubscribed events register the address as opted out, once, and the
customer's own state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import recipients_tests_fakes as fakes

from contracts import Bounced, Complained, Unsubscribed
from recipients.handlers import register_bounce, register_complaint, register_unsubscribe

T0 = datetime(2025, 4, 1, tzinfo=UTC)


def bounced(**changes: object) -> Bounced:
    fields: dict[str, object] = {
        "tenant_id": fakes.TENANT,
        "email": "Gone@Example.com",
        "kind": "hard",
        "smtp_code": 550,
        "occurred_at": T0,
    }
    fields.update(changes)
    return Bounced(**fields)  # type: ignore[arg-type]


def store_with(customer_id: uuid.UUID, email: str = "gone@example.com") -> fakes.FakeSuppressions:
    return fakes.FakeSuppressions(customers={(fakes.TENANT, customer_id): email})


async def test_a_hard_bounce_registers_the_address_and_the_customer_it_names() -> None:
    customer_id = uuid.uuid4()
    store = store_with(customer_id)
    assert await register_bounce(bounced(customer_id=customer_id), suppressions=store)
    assert store.bounced == {(fakes.TENANT, customer_id): T0}
    assert store.entries == {(fakes.TENANT, "gone@example.com", "bounced"): (T0, "smtp")}


async def test_a_bounce_without_customer_finds_it_by_address_in_any_case() -> None:
    customer_id = uuid.uuid4()
    store = store_with(customer_id)
    assert await register_bounce(bounced(source="dsn"), suppressions=store)
    assert (fakes.TENANT, customer_id) in store.bounced


async def test_a_bounce_of_an_address_no_customer_has_is_still_kept() -> None:
    store = fakes.FakeSuppressions()
    assert await register_bounce(bounced(source="dsn"), suppressions=store)
    assert list(store.entries) == [(fakes.TENANT, "gone@example.com", "bounced")]


async def test_soft_bounces_register_nothing() -> None:
    customer_id = uuid.uuid4()
    store = store_with(customer_id)
    assert not await register_bounce(
        bounced(customer_id=customer_id, kind="soft"), suppressions=store
    )
    assert store.bounced == {} and store.entries == {}


async def test_redelivered_events_keep_the_first_registration() -> None:
    customer_id = uuid.uuid4()
    store = store_with(customer_id)
    event = Unsubscribed(
        tenant_id=fakes.TENANT, customer_id=customer_id, method="one_click", occurred_at=T0
    )
    later = Unsubscribed(
        tenant_id=fakes.TENANT,
        customer_id=customer_id,
        method="form",
        occurred_at=T0 + timedelta(1),
    )
    assert await register_unsubscribe(event, suppressions=store)
    assert not await register_unsubscribe(event, suppressions=store)
    assert not await register_unsubscribe(later, suppressions=store)
    assert store.unsubscribed == {(fakes.TENANT, customer_id): T0}
    assert store.entries == {(fakes.TENANT, "gone@example.com", "unsubscribed"): (T0, "one_click")}


async def test_a_complaint_keeps_the_address_out_once() -> None:
    complaint = Complained(
        tenant_id=fakes.TENANT,
        campaign_id=uuid.uuid4(),
        message_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        email="Angry@Example.com",
        occurred_at=T0,
    )
    store = fakes.FakeSuppressions()
    assert await register_complaint(complaint, suppressions=store)
    assert not await register_complaint(complaint, suppressions=store)
    assert store.entries == {(fakes.TENANT, "angry@example.com", "complained"): (T0, "arf")}
