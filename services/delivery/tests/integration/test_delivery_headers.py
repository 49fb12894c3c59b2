"""Every mail the sink caught for a campaign, parsed and checked header by header, DKIM
signature verified against the test key."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import dkim
from delivery_tests_harness import Bus, Sink, done, running, settings_for

import testkit.events as support
from contracts import Address, RecipientResolved, SigningKey, StaffMember
from servicekit.tokens import Kind, TokenCodec

from .conftest import SIGNING_SECRET

BOUNCE_DOMAIN = "bounces.test.example"
HREF = re.compile(r"""href="([^"]+)\"""")


async def test_every_caught_mail_has_correct_headers_and_a_valid_dkim_signature(
    stack: Any,
    kafka_namespace: str,
    pg_schema: str,
    bus: Bus,
    sink: Sink,
    signing_keys: tuple[list[SigningKey], dict[bytes, bytes]],
) -> None:
    keys, txt_records = signing_keys
    domain = support.unique_domain()
    boss = Address(name="部長 鈴木", email="suzuki@example.com")
    c = support.on_behalf(boss, "operator@example.com", signing_keys=keys)
    recipients = [
        support.recipient(c, f"user{i}@{domain}", name=f"顧客 {i}", sender=c.sender)
        for i in range(5)
    ]
    settings = settings_for(
        stack,
        kafka_namespace,
        pg_schema,
        bounce_domain=BOUNCE_DOMAIN,
        signing_keys_secret=SIGNING_SECRET,
    )
    async with running(settings):
        await bus.stream(c, recipients)
        await bus.until(done(c.campaign_id, len(recipients)))
    assert bus.latest().sent == len(recipients)

    codec = TokenCodec.from_secret(support.TOKEN_SECRET)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return txt_records[name]

    for r in recipients:
        (summary,) = await sink.messages_to(r.email)
        raw = await sink.raw(summary["id"])
        assert raw.split(b"\r\n\r\n", 1)[0].isascii(), "headers must be RFC 2047 encoded"
        verifier = dkim.DKIM(raw)
        for index, algorithm in enumerate((b"rsa-sha256", b"ed25519-sha256")):
            assert verifier.verify(idx=index, dnsfunc=dns), f"{algorithm!r} does not verify"
            assert verifier.signature_fields[b"a"] == algorithm
            assert verifier.signature_fields[b"d"] == b"example.com", "d= is the From's domain"
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        _check_envelope(summary, r, codec)
        _check_headers(msg, r, c.operator, codec)
        _check_bodies(msg, r, codec)


def _check_envelope(summary: dict[str, Any], r: RecipientResolved, codec: TokenCodec) -> None:
    assert summary["rcpt_to"] == [r.email]
    local, _, host = summary["mail_from"].partition("@")
    assert host == BOUNCE_DOMAIN
    claims = codec.verify_bounce(local)
    assert (claims.tenant_id, claims.message_id) == (r.tenant_id, r.message_id)


def _check_headers(
    msg: EmailMessage, r: RecipientResolved, operator: StaffMember, codec: TokenCodec
) -> None:
    assert msg["To"].addresses[0].addr_spec == r.email
    assert len(msg["To"].addresses) == 1
    assert msg["To"].addresses[0].display_name == r.name
    assert msg["Cc"] is None and msg["Bcc"] is None
    assert str(msg["From"]) == "部長 鈴木 <suzuki@example.com>"
    assert msg["Sender"].addresses[0].addr_spec == operator.email
    assert msg["Reply-To"].addresses[0].addr_spec == "suzuki@example.com"
    assert str(msg["Subject"]) == "山田様へのご案内"
    assert msg["Message-ID"] == f"<{r.message_id}@example.com>"
    assert parsedate_to_datetime(str(msg["Date"])).tzinfo is not None
    assert msg["MIME-Version"] == "1.0"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(
        rf"<{re.escape(support.TRACKING)}/u/([\w-]+)>", msg["List-Unsubscribe"]
    )
    assert unsubscribe, msg["List-Unsubscribe"]
    claims = codec.verify(unsubscribe.group(1), Kind.UNSUBSCRIBE)
    assert (claims.message_id, claims.customer_id) == (r.message_id, r.customer_id)
    assert msg.get_content_type() == "multipart/alternative"


def _check_bodies(msg: EmailMessage, r: RecipientResolved, codec: TokenCodec) -> None:
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    assert text_part.get_content_charset() == "utf-8"
    text, body = text_part.get_content(), html_part.get_content()
    assert "山田 太郎 様" in text and "山田 太郎 様" in body
    for needed in ("株式会社サンプル", "東京都千代田区丸の内1-1-1", "03-1234-5678"):
        assert needed in text and needed in body
    pixel = re.search(
        rf'<img src="{re.escape(support.TRACKING)}/o/([\w-]+)" width="1" height="1" alt="">', body
    )
    assert pixel, "no open pixel"
    assert codec.verify(pixel.group(1), Kind.OPEN).message_id == r.message_id
    kinds = []
    for href in HREF.findall(body):
        assert href.startswith(support.TRACKING + "/"), f"untracked link {href}"
        kind, token = href[len(support.TRACKING) + 1 :].split("/", 1)
        kinds.append(kind)
        if kind == "c":
            claims = codec.verify(token, Kind.CLICK)
            assert claims.url == "https://shop.example.com/sale?a=1&b=2"
            assert claims.message_id == r.message_id
    assert sorted(kinds) == ["c", "u"]
    assert "https://shop.example.com" not in text
    assert f"{support.TRACKING}/c/" in text
