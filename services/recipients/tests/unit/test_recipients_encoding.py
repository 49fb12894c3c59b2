import uuid
from datetime import UTC, datetime

import recipients_tests_fakes as fakes

from contracts import Address, RecipientResolved, StaffMember, decode
from recipients.domain import message_id, plan_audience
from recipients.encoding import RecipientEncoder, customer_fragment

WHEN = datetime(2025, 4, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_encoded_recipient_is_the_event_the_contract_describes() -> None:
    event = fakes.campaign(merge_fields=["last_name", "attr.note"])
    plan = plan_audience(event)
    customer_id = uuid.uuid4()
    merge = {"last_name": '山田 "the" \\ 太郎\n', "attr.note": None}
    fragment = customer_fragment(str(customer_id), "yamada@example.jp", "山田 太郎", merge)

    key, value = RecipientEncoder(plan, WHEN).encode(str(customer_id), None, fragment)

    decoded = decode(value, RecipientResolved)
    expected_id = message_id(event.campaign_id, customer_id)
    assert key == expected_id.bytes
    assert decoded == RecipientResolved(
        event_id=decoded.event_id,
        occurred_at=WHEN,
        tenant_id=event.tenant_id,
        campaign_id=event.campaign_id,
        message_id=expected_id,
        customer_id=customer_id,
        email="yamada@example.jp",
        name="山田 太郎",
        merge_values=merge,
        sender=Address(name=fakes.OPERATOR.name, email=fakes.OPERATOR.email),
        notify_user_id=fakes.OPERATOR.user_id,
    )
    assert decoded.event_id.version == 8


def test_an_owner_position_selects_the_owner_as_sender_and_notification_target() -> None:
    owner = StaffMember(user_id=uuid.uuid4(), name='O "Q"', email="owner@acme.example")
    plan = plan_audience(fakes.campaign(send_as_owner=True, staff=[fakes.OPERATOR, owner]))
    position = 1 + [o.user_id for o in plan.owners].index(owner.user_id)
    customer_id = str(uuid.uuid4())
    fragment = customer_fragment(customer_id, "c@example.com", "", {})

    _, value = RecipientEncoder(plan, WHEN).encode(customer_id, position, fragment)

    decoded = decode(value, RecipientResolved)
    assert decoded.sender == Address(name='O "Q"', email="owner@acme.example")
    assert decoded.notify_user_id == owner.user_id


def test_the_same_customer_always_gets_the_same_ids() -> None:
    plan = plan_audience(fakes.campaign())
    customer_id = str(uuid.uuid4())
    fragment = customer_fragment(customer_id, "c@example.com", "", {})
    first = decode(
        RecipientEncoder(plan, WHEN).encode(customer_id, None, fragment)[1], RecipientResolved
    )
    again = decode(
        RecipientEncoder(plan, datetime.now(UTC)).encode(customer_id, None, fragment)[1],
        RecipientResolved,
    )
    assert (first.message_id, first.event_id) == (again.message_id, again.event_id)
