"""DKIM private keys at rest and in events: sealed with Fernet (AES-128-CBC + HMAC-SHA256)
under a key derived from an operator secret (`SIGNING_KEYS_SECRET`), which the composer
(that generates and stores the keys) and delivery (that signs with them) both hold.

The secret may list several comma-separated values: the first seals, every one opens, so
that the secret can be rotated without losing the keys sealed under the previous one.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contracts import SigningKey as SigningKeyContract
from mailkit.signing import Ed25519SigningKey, RsaSigningKey, SigningKey

MIN_SECRET_BYTES = 32
# Binds the derived key to this use: the same operator secret used elsewhere (by mistake)
# would still not open these tokens.
_INFO = b"bulkmail dkim private keys v1"


class KeyBoxError(ValueError):
    """A secret too short, or a token that none of the secrets opens."""


def secret_errors(secret: str) -> list[str]:
    """What is wrong with a SIGNING_KEYS_SECRET value (empty when it is usable)."""
    parts = secret.split(",")
    if not secret or any(len(p.encode()) < MIN_SECRET_BYTES for p in parts):
        return [f"each secret must be at least {MIN_SECRET_BYTES} bytes"]
    return []


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class KeyBox:
    """Seals and opens PEM private keys; never logs or shows what it holds."""

    def __init__(self, secret: str) -> None:
        problems = secret_errors(secret)
        if problems:
            raise KeyBoxError(f"SIGNING_KEYS_SECRET: {problems[0]}")
        self._fernet = MultiFernet([_fernet(part) for part in secret.split(",")])

    def __repr__(self) -> str:
        return "KeyBox(<sealed>)"

    def seal(self, private_key_pem: bytes) -> str:
        """A Fernet token (URL-safe text) for the key."""
        return self._fernet.encrypt(private_key_pem).decode("ascii")

    def open(self, token: str) -> bytes:
        """The PEM key back; KeyBoxError when no secret opens the token."""
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise KeyBoxError("the key was sealed under another secret, or altered") from None


def signing_key(key: SigningKeyContract, box: KeyBox) -> SigningKey:
    """A ready signing key from an event's `signing_keys` entry (parsed once, then reused)."""
    pem = box.open(key.private_key)
    if key.algorithm == "ed25519-sha256":
        return Ed25519SigningKey(key.domain, key.selector, pem)
    return RsaSigningKey(key.domain, key.selector, pem)
