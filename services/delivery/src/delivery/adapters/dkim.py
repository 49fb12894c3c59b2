"""DKIM signing (dkimpy) of finished messages."""

from __future__ import annotations

from pathlib import Path

import dkim

#: Signed even when absent, so that nobody can add them later without breaking the signature.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"sender",
    b"reply-to",
)


class DkimSigner:
    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        self._selector = selector.encode()
        self._domain = domain.encode()
        self._key = private_key

    @classmethod
    def from_file(cls, selector: str, domain: str, path: str) -> DkimSigner:
        return cls(selector, domain, Path(path).read_bytes())

    def __call__(self, message: bytes) -> bytes:
        signature = dkim.sign(
            message,
            self._selector,
            self._domain,
            self._key,
            include_headers=list(SIGNED_HEADERS),
            canonicalize=(b"relaxed", b"relaxed"),
        )
        return bytes(signature) + message
