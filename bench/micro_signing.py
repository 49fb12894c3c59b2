"""Micro-benchmark of DKIM signing one 7 KB mail on one core: `delivery.signing` with RSA-2048,
with RSA-2048 + Ed25519, and dkimpy (what `delivery.adapters.dkim` uses) for comparison.

Run: `uv run --frozen python bench/micro_signing.py` (a few seconds; not part of `make bench`).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable

import dkim

from mailkit.signing import (
    SIGNED_HEADERS,
    BodyHash,
    DkimSigner,
    Ed25519SigningKey,
    RsaSigningKey,
    generate_ed25519_key,
    generate_rsa_key,
)

HEADER = (
    b"From: Shop <news@example.com>\r\nTo: taro@example.org\r\n"
    b"Subject: =?UTF-8?B?5bGx55Sw5qeY44G444Gu44GU5qGI5YaF?=\r\n"
    b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <c1.r1@example.com>\r\n"
    b"List-Unsubscribe: <https://t.example.com/u/abc>,\r\n <mailto:unsub@example.com>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="=_bm_1"\r\n'
)
PART = b'--=_bm_1\r\nContent-Type: text/plain; charset="utf-8"\r\n'
PART += b"Content-Transfer-Encoding: base64\r\n\r\n"
LINES = base64.encodebytes(os.urandom(2450)).replace(b"\n", b"\r\n")
BODY_CHUNKS = [PART, LINES, PART.replace(b"plain", b"html"), LINES, b"--=_bm_1--\r\n"]
MESSAGE = HEADER + b"\r\n" + b"".join(BODY_CHUNKS)


def per_call_us(run: Callable[[], object], seconds: float = 1.5) -> float:
    run()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        run()
        calls += 1
    return elapsed / calls * 1e6


def main() -> None:
    rsa_pem = generate_rsa_key()
    rsa_key = RsaSigningKey("example.com", "rsa", rsa_pem)
    ed_key = Ed25519SigningKey("example.com", "ed", generate_ed25519_key())

    def dkimpy() -> bytes:
        return bytes(
            dkim.sign(
                MESSAGE,
                b"rsa",
                b"example.com",
                rsa_pem,
                include_headers=list(SIGNED_HEADERS),
                canonicalize=(b"relaxed", b"relaxed"),
            )
        )

    def body_hash() -> bytes:
        body = BodyHash()
        for chunk in BODY_CHUNKS:
            body.update(chunk)
        return body.digest()

    def streamed(signer: DkimSigner) -> Callable[[], bytes]:
        return lambda: signer.sign(HEADER, body_hash())

    print(f"mail: {len(MESSAGE)} bytes")
    print(f"body hash alone: {per_call_us(body_hash):9.1f} µs")
    print(f"rsa-2048:        {per_call_us(streamed(DkimSigner(rsa_key))):9.1f} µs per mail")
    print(f"rsa + ed25519:   {per_call_us(streamed(DkimSigner(rsa_key, ed_key))):9.1f} µs per mail")
    print(f"ed25519 alone:   {per_call_us(streamed(DkimSigner(None, ed_key))):9.1f} µs per mail")
    print(f"dkimpy rsa-2048: {per_call_us(dkimpy, 3.0):9.1f} µs per mail")


if __name__ == "__main__":
    main()
