"""Sealed DKIM keys: what one secret seals only a listed secret opens, and opens whole."""

from __future__ import annotations

import pytest

from contracts import SigningKey
from mailkit.keys import KeyBox, KeyBoxError, secret_errors, signing_key
from mailkit.signing import (
    DkimSigner,
    Ed25519SigningKey,
    RsaSigningKey,
    generate_ed25519_key,
    generate_rsa_key,
)

SECRET = "s" * 32
OTHER = "o" * 40


def test_a_sealed_key_holds_no_pem_and_opens_to_the_same_bytes():
    pem = generate_ed25519_key()
    token = KeyBox(SECRET).seal(pem)
    assert "PRIVATE KEY" not in token and pem.decode() not in token
    assert KeyBox(SECRET).open(token) == pem


def test_another_secret_or_an_altered_token_does_not_open_it():
    token = KeyBox(SECRET).seal(generate_ed25519_key())
    with pytest.raises(KeyBoxError):
        KeyBox(OTHER).open(token)
    with pytest.raises(KeyBoxError):
        KeyBox(SECRET).open(token[:-6] + "AAAAAA")
    with pytest.raises(KeyBoxError):
        KeyBox(SECRET).open("ünicode")


def test_the_secret_rotates_the_first_seals_all_open():
    old = KeyBox(SECRET).seal(b"old key")
    rotated = KeyBox(f"{OTHER},{SECRET}")
    assert rotated.open(old) == b"old key"
    assert KeyBox(OTHER).open(rotated.seal(b"new key")) == b"new key"


@pytest.mark.parametrize("secret", ["", "short", f"{SECRET},short"])
def test_short_secrets_are_refused(secret):
    assert secret_errors(secret)
    with pytest.raises(KeyBoxError, match="at least 32 bytes"):
        KeyBox(secret)


def test_the_box_never_shows_its_secret():
    assert SECRET not in repr(KeyBox(SECRET))


def test_an_event_key_becomes_a_signing_key_of_its_algorithm():
    box = KeyBox(SECRET)
    rsa = SigningKey(
        domain="acme.example",
        selector="bm1-rsa",
        algorithm="rsa-sha256",
        private_key=box.seal(generate_rsa_key()),
    )
    ed = SigningKey(
        domain="acme.example",
        selector="bm1-ed25519",
        algorithm="ed25519-sha256",
        private_key=box.seal(generate_ed25519_key()),
    )
    rsa_key, ed_key = signing_key(rsa, box), signing_key(ed, box)
    assert isinstance(rsa_key, RsaSigningKey) and isinstance(ed_key, Ed25519SigningKey)
    assert (rsa_key.domain, rsa_key.selector) == ("acme.example", "bm1-rsa")
    signed = DkimSigner(rsa_key, ed_key).sign_message(
        b"From: a@acme.example\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"
    )
    assert signed.count(b"DKIM-Signature:") == 2
