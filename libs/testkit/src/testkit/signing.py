"""DKIM keys of a sending domain as a campaign carries them, and the DNS records a verifier
finds for them."""

from __future__ import annotations

from contracts import SigningKey
from mailkit.keys import KeyVault
from mailkit.signing import (
    Ed25519SigningKey,
    RsaSigningKey,
    generate_ed25519_key,
    generate_rsa_key,
)


def sealed_keys(
    domain: str, vault: KeyVault, rsa_selector: str, ed25519_selector: str
) -> tuple[list[SigningKey], dict[bytes, bytes]]:
    """A fresh RSA and Ed25519 key of `domain`, their private halves sealed by `vault` as
    the composer seals them; and each key's TXT record by name, as dkimpy's `dnsfunc`
    looks them up (`<selector>._domainkey.<domain>.`)."""
    rsa_pem, ed_pem = generate_rsa_key(), generate_ed25519_key()
    keys = [
        SigningKey(domain=domain, selector=rsa_selector, algorithm="rsa-sha256",
                   private_key=vault.encrypt(rsa_pem)),
        SigningKey(domain=domain, selector=ed25519_selector, algorithm="ed25519-sha256",
                   private_key=vault.encrypt(ed_pem)),
    ]  # fmt: skip
    published = (
        RsaSigningKey(domain, rsa_selector, rsa_pem),
        Ed25519SigningKey(domain, ed25519_selector, ed_pem),
    )
    records = {f"{k.dns_name}.".encode(): "".join(k.txt_record()).encode() for k in published}
    return keys, records
