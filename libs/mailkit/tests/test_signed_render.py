"""Signing as the mail is assembled (d= the From's domain), per-message Reply-To when sent
on behalf, and previews."""

from __future__ import annotations

import dkim
import pytest

import testkit.events as support
from contracts import Address
from mailkit.keys import KeyVault, signers_for
from mailkit.render import CompiledCampaign, RenderConfig
from servicekit.tokens import TokenCodec
from testkit.signing import sealed_keys

CONFIG = RenderConfig(
    support.TRACKING, "bounces.example", TokenCodec.from_secret(support.TOKEN_SECRET)
)
VAULT = KeyVault("unit-test-signing-secret-long-enough-for-hkdf")
KEYS, DNS = sealed_keys("tenant.example", VAULT, "s1", "s1e")


def dns(name: bytes, timeout: int = 5) -> bytes:
    return DNS[name]


def mail_from(sender: str, **campaign: object) -> bytes:
    c = support.campaign(sender=Address(name="営業", email=sender), signing_keys=KEYS, **campaign)
    r = support.recipient(c, "taro@example.org", sender=c.sender)
    compiled = CompiledCampaign(c, CONFIG, signers_for(c.signing_keys, VAULT))
    return compiled.render(r, 1_700_000_000).data[:-3]


def test_both_signatures_verify_with_the_from_domain_as_d() -> None:
    raw = mail_from("sales@tenant.example")
    verifier = dkim.DKIM(raw)
    for index, algorithm in enumerate((b"rsa-sha256", b"ed25519-sha256")):
        assert verifier.verify(idx=index, dnsfunc=dns)
        assert (verifier.signature_fields[b"a"], verifier.signature_fields[b"d"]) == (
            algorithm,
            b"tenant.example",
        )


def test_a_changed_body_breaks_the_signature() -> None:
    raw = mail_from("sales@tenant.example")
    assert not dkim.verify(raw.replace(b"--=_bm_", b"--=_bX_", 1) + b"x\r\n", dnsfunc=dns)


def test_a_from_on_a_domain_without_keys_is_not_signed() -> None:
    assert b"DKIM-Signature" not in mail_from("sales@elsewhere.example")


def test_the_keys_stay_encrypted_in_the_campaign() -> None:
    assert all(b"PRIVATE KEY" not in k.private_key.encode() for k in KEYS)
    with pytest.raises(ValueError):
        signers_for(KEYS, KeyVault("another-secret-that-is-long-enough-too"))


def test_on_behalf_as_owner_replies_go_to_the_author_of_each_message() -> None:
    boss = Address(name="部長", email="boss@tenant.example")
    c = support.on_behalf(boss, "op@tenant.example", send_as_owner=True)
    owner = Address(name="担当 花子", email="hanako@tenant.example")
    owned = support.recipient(c, "owned@example.org", sender=owner)
    plain = support.recipient(c, "plain@example.org", sender=c.sender)
    compiled = CompiledCampaign(c, CONFIG)
    for r, author in ((owned, b"hanako@tenant.example"), (plain, b"boss@tenant.example")):
        head = compiled.render(r, 1).data.split(b"\r\n\r\n", 1)[0]
        assert b"Sender: " in head and b"op@tenant.example" in head
        reply_to = next(line for line in head.split(b"\r\n") if line.startswith(b"Reply-To:"))
        assert author in reply_to
    preview = compiled.preview(owned)
    assert preview.reply_to is not None and "hanako@tenant.example" in preview.reply_to
    assert preview.on_behalf_of is not None and "op@tenant.example" in preview.on_behalf_of


def test_a_preview_is_what_the_recipient_reads() -> None:
    c = support.campaign()
    preview = CompiledCampaign(c, CONFIG).preview(support.recipient(c, "taro@example.org"))
    assert preview.subject == "山田様へのご案内"
    assert "山田 太郎 様" in preview.text and "<p>山田 太郎 様</p>" in preview.html
    assert preview.reply_to is None
