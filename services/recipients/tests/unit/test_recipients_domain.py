import re
import uuid
from datetime import UTC, datetime

import pytest
import recipients_tests_fakes as fakes

from contracts import RecipientResolved, StaffMember, decode
from recipients.domain import (
    EMAIL_PATTERN,
    Checkpoint,
    Exclusion,
    counts_for_exclusion,
    import_id_prefix,
    is_valid_email,
    message_id,
    new_id,
    no_exclusions,
    plan_audience,
)
from recipients.encoding import RecipientEncoder, customer_fragment


@pytest.mark.parametrize(
    "address",
    ["a@example.com", "first.last+tag@sub.example.co.jp", "o'neil@example.org", "x_y@a-b.io"],
)
def test_ordinary_addresses_are_valid(address: str) -> None:
    assert is_valid_email(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@localhost",
        "a..b@example.com",
        ".a@example.com",
        "a b@example.com",
        "a@exa mple.com",
        "a@-example.com",
        "<a@example.com>",
        "a@example.com\r\nBcc: x@y.z",
        "山田@example.com",
        "a" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_malformed_addresses_are_invalid(address: str) -> None:
    assert not is_valid_email(address)


def test_email_pattern_avoids_backslashes_so_postgres_reads_it_alike() -> None:
    # The import validates with this pattern in SQL; only `\.` (a literal dot) is escaped.
    assert set(re.findall(r"\\.", EMAIL_PATTERN)) == {r"\."}


def test_new_ids_are_version_7_and_ascend() -> None:
    ids = [new_id() for _ in range(50)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids[0].int >> 80 <= ids[-1].int >> 80  # the millisecond part never goes back


def test_import_ids_are_the_prefix_and_the_line_number() -> None:
    prefix = import_id_prefix()
    first, later = (uuid.UUID(prefix + f"{line:012x}") for line in (2, 1_000_001))
    assert first.version == 7 and first < later
    assert prefix != import_id_prefix()


def test_message_ids_are_uuid5_of_campaign_and_customer() -> None:
    event = fakes.campaign()
    customer_id = uuid.uuid4()
    encoder = RecipientEncoder(plan_audience(event), datetime.now(UTC))
    fragment = customer_fragment(str(customer_id), "c@example.com", "", {})

    key, value = encoder.encode(str(customer_id), None, fragment)

    expected = message_id(event.campaign_id, customer_id)
    assert expected == uuid.uuid5(event.campaign_id, str(customer_id))
    decoded = decode(value, RecipientResolved)
    assert key == expected.bytes and decoded.message_id == expected
    assert decoded.event_id.version == 8 and decoded.event_id.int & ~(0xF << 76) == (
        expected.int & ~(0xF << 76)
    )


def test_excluded_candidates_are_not_encoded() -> None:
    encoder = RecipientEncoder(plan_audience(fakes.campaign()), datetime.now(UTC))
    rows = fakes.candidates(10, every_nth_excluded=3)
    encoded = encoder.encode_batch(rows)
    assert len(encoded) == sum(1 for r in rows if r[1] is None)


def test_only_customer_fields_can_exclude_a_customer() -> None:
    for name in ("last_name", "first_name", "full_name", "company", "email", "attr.plan"):
        assert counts_for_exclusion(name)
    for name in ("sender_name", "sender_email", "sender_signature", "nonsense", "attr.-x"):
        assert not counts_for_exclusion(name)


def test_plan_requires_merge_values_only_when_the_campaign_says_so() -> None:
    fields = ["last_name", "sender_signature", "attr.plan", "bogus"]
    lenient = plan_audience(fakes.campaign(merge_fields=fields))
    strict = plan_audience(fakes.campaign(merge_fields=fields, exclude_missing_merge=True))
    assert lenient.merge_fields == ("last_name", "sender_signature", "attr.plan")
    assert lenient.required_fields == ()
    assert strict.required_fields == ("last_name", "attr.plan")


def test_sent_on_behalf_the_signature_is_the_logged_in_users() -> None:
    """SPEC §3.6: the manual refuses on-behalf sending when the LOGGED-IN user's signature
    is empty, so the signature that goes into the mail is the logged-in user's."""
    boss = StaffMember(user_id=uuid.uuid4(), name="Boss", email="boss@acme.example", signature="B")
    event = fakes.campaign(
        sender_mode="on_behalf_user",
        sender={"name": "Boss", "email": "boss@acme.example"},
        sender_user_id=boss.user_id,
        notify_user_id=boss.user_id,
        staff=[fakes.OPERATOR, boss],
    )
    plan = plan_audience(event)
    assert (plan.sender.name, plan.sender.signature, plan.sender.notify_user_id) == (
        "Boss",
        fakes.OPERATOR.signature,
        boss.user_id,
    )
    registered = plan_audience(
        fakes.campaign(
            sender_mode="on_behalf_registered",
            sender={"name": "Support", "email": "s@acme.example"},
            sender_user_id=None,
        )
    )
    assert registered.sender.signature == fakes.OPERATOR.signature


def test_sent_as_oneself_the_signature_is_the_senders() -> None:
    assert plan_audience(fakes.campaign()).sender.signature == fakes.OPERATOR.signature


def test_owners_are_offered_only_when_sending_as_owner() -> None:
    assert plan_audience(fakes.campaign()).owners == ()
    owners = plan_audience(fakes.campaign(send_as_owner=True)).owners
    assert [o.user_id for o in owners] == [fakes.OPERATOR.user_id]


def test_checkpoint_counts_each_reason_and_moves_to_the_last_customer() -> None:
    start = Checkpoint()
    moved = start.advanced("b", 3, ["bounced", "unsubscribed", "bounced"])
    assert start.excluded == no_exclusions() and start.published == 0
    assert moved.last_customer_id == "b" and moved.published == 3
    assert moved.excluded[Exclusion.BOUNCED] == 2 and moved.excluded["unsubscribed"] == 1
    assert set(moved.excluded) == {reason.value for reason in Exclusion}
