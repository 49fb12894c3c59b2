"""Encrypted DKIM keys: a token holds no PEM, only its own secret opens it, and the keys the
composer encrypts become delivery's signers."""

from __future__ import annotations

import pytest

from contracts import SigningKey
from mailkit.keys import KeyVault, signers_for
from mailkit.signing import generate_ed25519_key, generate_rsa_key

SECRET = "s" * 32


def test_a_token_holds_no_pem_and_decrypts_to_the_same_bytes():
    pem = generate_ed25519_key()
    token = KeyVault(SECRET).encrypt(pem)
    assert "PRIVATE KEY" not in token
    assert KeyVault(SECRET).decrypt(token) == pem


def test_another_secret_or_an_altered_token_does_not_open_it():
    token = KeyVault(SECRET).encrypt(generate_ed25519_key())
    with pytest.raises(ValueError):
        KeyVault("o" * 40).decrypt(token)
    with pytest.raises(ValueError):
        KeyVault(SECRET).decrypt(token[:-6] + "AAAAAA")


def test_short_secrets_are_refused_and_the_vault_never_shows_its_secret():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        KeyVault("short")
    assert SECRET not in repr(KeyVault(SECRET))


def test_keys_of_a_domain_become_one_signer_with_both_signatures():
    vault = KeyVault(SECRET)
    keys = [
        SigningKey(domain="Acme.example", selector=f"bm1-{name}", algorithm=algorithm,
                   private_key=vault.encrypt(pem))
        for name, algorithm, pem in (
            ("rsa", "rsa-sha256", generate_rsa_key()),
            ("ed25519", "ed25519-sha256", generate_ed25519_key()),
        )
    ]  # fmt: skip
    [(domain, signer)] = signers_for(keys, vault).items()
    signed = signer.sign_message(b"From: a@acme.example\r\nSubject: x\r\n\r\nbody\r\n")
    assert domain == "acme.example" and signed.count(b"DKIM-Signature:") == 2
