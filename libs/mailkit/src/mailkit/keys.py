"""DKIM private keys at rest and in transit: encrypted with a key derived from a secret the
composer (which makes and stores them) and delivery (which signs with them) both hold, so a
key is never in a table or an event in clear.

Fernet (AES-128-CBC with HMAC-SHA256) from the `cryptography` package; the Fernet key is
derived from the secret with HKDF-SHA256, so any secret of at least 32 bytes will do.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contracts import SigningKey
from mailkit.signing import DkimSigner, Ed25519SigningKey, RsaSigningKey

_INFO = b"bulkmail dkim keys v1"
MIN_SECRET_BYTES = 32


class KeyVault:
    def __init__(self, secret: str) -> None:
        raw = secret.encode()
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(f"the signing keys secret needs at least {MIN_SECRET_BYTES} bytes")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, private_key_pem: bytes) -> str:
        return self._fernet.encrypt(private_key_pem).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken as exc:
            raise ValueError("a signing key that this secret did not encrypt") from exc

    def __repr__(self) -> str:
        return "KeyVault(<secret>)"


def signers_for(keys: Iterable[SigningKey], vault: KeyVault) -> dict[str, DkimSigner]:
    """One signer per sending domain of a campaign (RSA, and Ed25519 beside it when the
    domain has one), its keys decrypted and parsed once."""
    by_domain: dict[str, dict[str, SigningKey]] = {}
    for key in keys:
        by_domain.setdefault(key.domain.lower(), {})[key.algorithm] = key
    signers: dict[str, DkimSigner] = {}
    for domain, found in by_domain.items():
        rsa, ed = found.get("rsa-sha256"), found.get("ed25519-sha256")
        signers[domain] = DkimSigner(
            RsaSigningKey(domain, rsa.selector, vault.decrypt(rsa.private_key)) if rsa else None,
            Ed25519SigningKey(domain, ed.selector, vault.decrypt(ed.private_key)) if ed else None,
        )
    return signers
