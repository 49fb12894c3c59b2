"""RecipientResolved as bytes, a million times per large campaign.

Building a pydantic model per recipient costs more than everything else on the hot path
together, so the JSON is assembled from parts instead:

- the customer fragment `,"customer_id":…,"email":…,"name":…,"merge_values":{…}` comes
  ready-escaped from the audience query (PostgreSQL builds it next to the data);
- the envelope (event type, version, time, tenant, campaign) is encoded once per campaign;
- the sender and notification target are encoded once per possible sender;
- ids are computed here (see `RecipientEncoder.encode_batch`).

The result is exactly what `contracts.encode(RecipientResolved(...))` would carry; the unit
tests decode it with `contracts.decode` and compare with a model built the slow way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from contracts import RecipientResolved
from recipients.domain import AudiencePlan, Sender
from recipients.ports import Candidate

_EVENT_TYPE = RecipientResolved.model_fields["event_type"].default
_SCHEMA_VERSION = RecipientResolved.model_fields["schema_version"].default
_VERSION_MASK = ((1 << 128) - 1) ^ (0xF000 << 64) ^ (0xC000 << 48)
_VERSION_5 = (0x5000 << 64) | (0x8000 << 48)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def customer_fragment(
    customer_id: str, email: str, name: str, merge_values: Mapping[str, str | None]
) -> bytes:
    """The fragment the audience query builds, written in Python (used by fakes and tests)."""
    return (
        f',"customer_id":"{customer_id}","email":{_dumps(email)},"name":{_dumps(name)}'
        f',"merge_values":{_dumps(dict(merge_values))}'
    ).encode()


def _sender_part(sender_name: str, sender_email: str, notify_user_id: UUID) -> bytes:
    return (
        f',"sender":{_dumps({"name": sender_name, "email": sender_email})}'
        f',"notify_user_id":"{notify_user_id}"}}'
    ).encode()


class RecipientEncoder:
    """Encodes the recipients of one campaign."""

    def __init__(self, plan: AudiencePlan, occurred_at: datetime) -> None:
        self._namespace = plan.campaign_id.bytes
        envelope = {
            "event_type": _EVENT_TYPE,
            "schema_version": _SCHEMA_VERSION,
            "occurred_at": occurred_at.isoformat(),
            "tenant_id": str(plan.tenant_id),
            "campaign_id": str(plan.campaign_id),
        }
        self._envelope = b'",' + _dumps(envelope)[1:-1].encode()
        self._senders = [_sender_for(plan.sender)] + [
            _sender_part(owner.name, owner.email, owner.user_id) for owner in plan.owners
        ]

    def encode(self, customer_id: str, owner: int | None, fragment: bytes) -> tuple[bytes, bytes]:
        """Kafka (key, value) of one recipient; `owner` is the 1-based position in the plan's
        owners, or None for the campaign's sender."""
        return self.encode_batch([(customer_id, None, owner, fragment)])[0]

    def encode_batch(self, candidates: Sequence[Candidate]) -> list[tuple[bytes, bytes]]:
        """(key, value) of every candidate that is not excluded, in order.

        The message id is uuid5(campaign id, customer id text): a replay or a resumed
        resolution yields the same ids. The event id is the same UUID with version nibble
        8 (RFC 9562 custom): deterministic too, so consumers dropping duplicates by event id
        drop a republished recipient, and it never equals a random (v4) id of another
        event. One loop with local names: this runs once per recipient.
        """
        sha1, from_bytes, namespace = hashlib.sha1, int.from_bytes, self._namespace
        envelope, senders = self._envelope, self._senders
        encoded = []
        for customer_id, excluded, owner, fragment in candidates:
            if excluded is not None:
                continue
            digest = sha1(namespace + customer_id.encode()).digest()
            key = (from_bytes(digest[:16]) & _VERSION_MASK | _VERSION_5).to_bytes(16)
            h = key.hex()
            ids = (
                f'{{"message_id":"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"'
                f',"event_id":"{h[:8]}-{h[8:12]}-8{h[13:16]}-{h[16:20]}-{h[20:]}'
            )
            value = b"".join((ids.encode(), envelope, fragment or b"", senders[owner or 0]))
            encoded.append((key, value))
        return encoded


def _sender_for(sender: Sender) -> bytes:
    return _sender_part(sender.name, sender.email, sender.notify_user_id)
