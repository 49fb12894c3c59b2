"""DKIM signing: every signature verifies with dkimpy; relaxed canonicalisation; key records."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.canonicalization import Relaxed
from hypothesis import given, settings
from hypothesis import strategies as st

from mailkit.signing import (
    BodyHash,
    DkimSigner,
    Ed25519SigningKey,
    RsaSigningKey,
    SigningKey,
    body_hash,
    generate_ed25519_key,
    generate_rsa_key,
    split_txt,
)

NOW = 1_700_000_000
RSA = RsaSigningKey("example.com", "rsa2026", generate_rsa_key())
ED25519 = Ed25519SigningKey("example.com", "ed2026", generate_ed25519_key())
OTHER_RSA = RsaSigningKey("example.com", "rsa2026", generate_rsa_key())

HEADER = (
    b"From: Shop <news@example.com>\r\n"
    b"To: taro@example.org\r\n"
    b"Subject: =?UTF-8?B?5bGx55Sw5qeY44G444Gu44GU5qGI5YaF?=\r\n"
    b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    b"Message-ID: <c1.r1@example.com>\r\n"
    b"List-Unsubscribe: <https://t.example.com/u/abc>,\r\n"
    b" <mailto:unsub@example.com>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"MIME-Version: 1.0\r\n"
    b"X-Campaign-ID: c1\r\n"
    b'Content-Type: multipart/alternative; boundary="=_bm_1"\r\n'
)
BODY = (
    b"--=_bm_1\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + b"5bGx55Sw5qeY44G444Gu44GU5qGI5YaF44Gn44GZ44CC5qeY44G444Gu44GU5qGI5YaF44Gn44GZ\r\n" * 40
    + b"--=_bm_1--\r\n"
)
MESSAGE = HEADER + b"\r\n" + BODY


def dnsfunc(*keys: SigningKey) -> Callable[..., bytes | None]:
    """A resolver that knows the TXT records of `keys`, joined as DNS joins the strings."""
    records = {f"{k.dns_name}.".encode(): "".join(k.txt_record()).encode() for k in keys}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return lookup


def verifies(message: bytes, *keys: SigningKey) -> list[bool]:
    """dkimpy's verdict on each DKIM-Signature of `message`, topmost first."""
    verifier = dkim.DKIM(message)
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    return [_verify(verifier, i, dnsfunc(*keys)) for i in range(count)]


def _verify(verifier: dkim.DKIM, idx: int, lookup: Callable[..., bytes | None]) -> bool:
    try:
        return bool(verifier.verify(idx=idx, dnsfunc=lookup))
    except dkim.ValidationError:  # how dkimpy reports a body hash mismatch
        return False


def signature_tags(message: bytes) -> list[dict[bytes, bytes]]:
    verifier = dkim.DKIM(message)
    return [
        dkim.util.parse_tag_value(value)
        for name, value in verifier.headers
        if name.lower() == b"dkim-signature"
    ]


def signer(*keys: SigningKey) -> DkimSigner:
    rsa_key = next((k for k in keys if isinstance(k, RsaSigningKey)), None)
    ed_key = next((k for k in keys if isinstance(k, Ed25519SigningKey)), None)
    return DkimSigner(rsa_key, ed_key, clock=lambda: NOW + 0.9)


# --- signatures that dkimpy verifies -------------------------------------------------------


@pytest.mark.parametrize("keys", [(RSA,), (ED25519,), (RSA, ED25519)], ids=["rsa", "ed", "both"])
def test_signed_mail_verifies_with_dkimpy(keys: tuple[SigningKey, ...]) -> None:
    signed = signer(*keys).sign_message(MESSAGE)
    assert signed.endswith(MESSAGE)
    assert verifies(signed, *keys) == [True] * len(keys)


def test_rsa_signature_comes_first_so_a_top_only_verifier_finds_it() -> None:
    signed = signer(RSA, ED25519).sign_message(MESSAGE)
    assert [t[b"a"] for t in signature_tags(signed)] == [b"rsa-sha256", b"ed25519-sha256"]
    assert dkim.verify(signed, dnsfunc=dnsfunc(RSA))


def test_tags_come_from_the_keys_and_the_clock() -> None:
    (tags,) = signature_tags(signer(RSA).sign_message(MESSAGE))
    assert (tags[b"d"], tags[b"s"], tags[b"t"]) == (b"example.com", b"rsa2026", b"1700000000")
    assert (tags[b"v"], tags[b"c"]) == (b"1", b"relaxed/relaxed")
    assert base64.b64decode(tags[b"bh"]) == body_hash(BODY)


def test_present_headers_are_signed_and_singletons_oversigned() -> None:
    (tags,) = signature_tags(signer(RSA).sign_message(MESSAGE))
    names = re.split(rb"\s*:\s*", tags[b"h"])
    assert names == [
        b"from", b"from", b"to", b"to", b"subject", b"subject", b"date", b"date",
        b"message-id", b"mime-version", b"content-type",
        b"list-unsubscribe", b"list-unsubscribe", b"list-unsubscribe-post",
    ]  # fmt: skip


def test_absent_oversigned_header_is_still_listed() -> None:
    message = b"From: a@example.com\r\nSender: b@example.com\r\n\r\nhi\r\n"
    (tags,) = signature_tags(signer(ED25519).sign_message(message))
    names = re.split(rb"\s*:\s*", tags[b"h"])
    assert names == [b"from", b"from", b"to", b"subject", b"date", b"list-unsubscribe", b"sender"]


def test_every_instance_of_a_repeated_header_is_signed() -> None:
    message = b"From: a@example.com\r\nTo: b@example.org\r\nTo: c@example.org\r\n\r\nhi\r\n"
    signed = signer(RSA).sign_message(message)
    assert re.split(rb"\s*:\s*", signature_tags(signed)[0][b"h"]).count(b"to") == 3
    assert verifies(signed, RSA) == [True]
    assert verifies(signed.replace(b"c@example.org", b"d@example.org"), RSA) == [False]


def test_sign_with_streamed_body_hash_equals_sign_message() -> None:
    sign = signer(RSA, ED25519)
    digest = streamed(BODY.splitlines(keepends=True))
    assert sign.sign(HEADER, digest) + MESSAGE == sign.sign_message(MESSAGE)
    # A header block that runs on into the body is signed as far as its empty line.
    assert sign.sign(MESSAGE, digest) == sign.sign(HEADER, digest)


def test_signature_header_lines_are_folded_and_short() -> None:
    header = signer(RSA, ED25519).sign(HEADER, body_hash(BODY))
    assert header.endswith(b"\r\n")
    lines = header[:-2].split(b"\r\n")
    assert all(len(line) <= 78 for line in lines)
    assert [line[:1] == b" " for line in lines].count(False) == 2
    assert all(line.startswith(b"DKIM-Signature: ") for line in lines if line[:1] != b" ")


# --- tampering -----------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [(RSA,), (ED25519,)], ids=["rsa", "ed"])
@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace(b"--=_bm_1--", b"--=_bm_2--"),
        lambda m: m.replace(b"5bGx", b"5bGy", 1),
        lambda m: m + b"appended\r\n",
        lambda m: m.replace(b"taro@example.org", b"jiro@example.org"),
        lambda m: m.replace(b"Date: Tue, 14", b"Date: Wed, 15"),
        lambda m: m.replace(b"To: ", b"Subject: second subject\r\nTo: ", 1),
        lambda m: m.replace(b"To: ", b"From: other@example.net\r\nTo: ", 1),
        lambda m: m.replace(b"MIME-Version", b"List-Unsubscribe: <x>\r\nMIME-Version"),
        lambda m: m.replace(b"boundary=", b"boundary=x"),
    ],
    ids=["boundary", "base64", "appended", "to", "date", "subject2", "from2", "unsub2", "ctype"],
)
def test_tampered_mail_fails(
    keys: tuple[SigningKey, ...], tamper: Callable[[bytes], bytes]
) -> None:
    signed = signer(*keys).sign_message(MESSAGE)
    assert tamper(signed) != signed
    assert verifies(tamper(signed), *keys) == [False]


def test_unsigned_header_and_relaxed_changes_do_not_break_it() -> None:
    signed = signer(RSA).sign_message(MESSAGE)
    changed = signed.replace(b"X-Campaign-ID: c1", b"X-Campaign-ID: c2").replace(
        b"Subject: =?UTF", b"subject:   =?UTF"
    )
    assert verifies(changed + b"\r\n\r\n", RSA) == [True]


def test_wrong_public_key_fails() -> None:
    signed = signer(RSA).sign_message(MESSAGE)
    assert verifies(signed, OTHER_RSA) == [False]


# --- relaxed header canonicalisation -------------------------------------------------------


def test_folded_headers_with_wsp_runs_verify() -> None:
    header = (
        b"From:   Shop \t <news@example.com>  \r\n"
        b"Subject:\r\n \t a   long\r\n\tsubject \t\r\n    folded  \r\n"
        b"To:b@example.org\r\n"
        b"content-TYPE: text/plain;\r\n\t charset=utf-8\r\n"
    )
    for keys in [(RSA,), (ED25519,)]:
        signed = signer(*keys).sign_message(header + b"\r\nbody\r\n")
        assert verifies(signed, *keys) == [True]
        refolded = signed.replace(b"a   long\r\n\tsubject", b"a long subject")
        assert verifies(refolded, *keys) == [True]


_VALUE_PIECES = st.sampled_from([b"word", b"x", b" ", b"\t", b"  \t ", b"\r\n ", b"\r\n\t", b";"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_VALUE_PIECES, max_size=12), st.lists(_VALUE_PIECES, max_size=12))
def test_any_folding_and_wsp_in_header_values_verifies(
    subject: list[bytes], to: list[bytes]
) -> None:
    message = (
        b"From: a@example.com\r\n"
        b"Subject:" + b"".join(subject) + b"\r\n"
        b"To:" + b"".join(to) + b"x@example.org\r\n\r\nbody\r\n"
    )
    signed = signer(ED25519).sign_message(message)
    assert verifies(signed, ED25519) == [True]


# --- relaxed body canonicalisation ---------------------------------------------------------


def reference_body_hash(body: bytes) -> bytes:
    """RFC 6376 3.4.4 line by line; an unterminated last line counts as a line."""
    lines = body.split(b"\r\n")
    if lines[-1] == b"":
        lines.pop()
    lines = [re.sub(rb"[ \t]+", b" ", line).rstrip(b" ") for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return hashlib.sha256(b"".join(line + b"\r\n" for line in lines)).digest()


def dkimpy_body_hash(body: bytes) -> bytes:
    return hashlib.sha256(Relaxed.canonicalize_body(body)).digest()


def streamed(chunks: list[bytes]) -> bytes:
    hasher = BodyHash()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.digest()


@pytest.mark.parametrize(
    ("chunks", "canonical"),
    [
        ([], b""),
        ([b""], b""),
        ([b"\r\n"], b""),
        ([b"\r\n\r\n", b"\r\n"], b""),
        ([b" \t \r\n", b"\t\r\n"], b""),
        ([b"abc\r", b"\nnext\r\n"], b"abc\r\nnext\r\n"),
        ([b"abc  ", b"\t def\r\n"], b"abc def\r\n"),
        ([b"abc ", b"\t", b" \r", b"\n"], b"abc\r\n"),
        ([b"abc\r\n", b"\r\n", b"\r", b"\n", b"\r\n"], b"abc\r\n"),
        ([b"abc\r\n\r\n", b"\r\n", b"def\r\n"], b"abc\r\n\r\n\r\ndef\r\n"),
        ([b"abc\r\n\r\n", b"  \r\n", b" def"], b"abc\r\n\r\n\r\n def\r\n"),
        ([b"last  \t"], b"last\r\n"),
        ([b"a\r\r\n", b"\r\n"], b"a\r\r\n"),
        ([b"a \r\r\n"], b"a \r\r\n"),
        ([b"\n\r\n", b"\r"], b"\n\r\n\r\r\n"),
        ([b"  runs \t of  \t WSP\t \r\n\r\n\r\n"], b" runs of WSP\r\n"),
    ],
)
def test_body_hash_edge_cases(chunks: list[bytes], canonical: bytes) -> None:
    body = b"".join(chunks)
    assert streamed(chunks) == hashlib.sha256(canonical).digest() == reference_body_hash(body)
    if body.endswith(b"\r\n") or not body:
        assert streamed(chunks) == dkimpy_body_hash(body)


def test_digest_does_not_end_the_stream() -> None:
    hasher = BodyHash()
    hasher.update(b"one  \r\n\r\n")
    assert hasher.digest() == hasher.digest() == reference_body_hash(b"one\r\n")
    hasher.update(b"two \r")
    hasher.update(b"\n")
    assert hasher.digest() == reference_body_hash(b"one\r\n\r\ntwo\r\n")


_BODY_PIECES = st.sampled_from(
    [b"a", b"Zm9v", b" ", b"\t", b"  \t ", b"\r\n", b"\r\n\r\n", b"\r", b"\n", b"--b"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_BODY_PIECES, max_size=40), st.lists(st.integers(0, 200), max_size=8))
def test_streamed_body_hash_matches_reference_for_any_chunking(
    pieces: list[bytes], cuts: list[int]
) -> None:
    body = b"".join(pieces)
    bounds = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[i:j] for i, j in zip([0, *bounds], [*bounds, len(body)], strict=True)]
    assert b"".join(chunks) == body
    assert streamed(chunks) == reference_body_hash(body) == body_hash(body)
    if body.endswith(b"\r\n") or not body:
        assert streamed(chunks) == dkimpy_body_hash(body)


# --- keys and DNS records ------------------------------------------------------------------


def test_rsa_txt_record_holds_the_public_key_in_255_byte_strings() -> None:
    strings = RSA.txt_record()
    assert len(strings) == 2
    assert all(len(s.encode()) <= 255 for s in strings)
    record = "".join(strings)
    assert record.startswith("v=DKIM1; k=rsa; p=")
    public = serialization.load_der_public_key(base64.b64decode(record.split("p=")[1]))
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048


def test_ed25519_txt_record_is_one_string_with_the_raw_key() -> None:
    (record,) = ED25519.txt_record()
    assert record.startswith("v=DKIM1; k=ed25519; p=")
    assert len(base64.b64decode(record.split("p=")[1])) == 32


@pytest.mark.parametrize(
    ("length", "sizes"),
    [(0, [0]), (1, [1]), (255, [255]), (256, [255, 1]), (510, [255, 255]), (511, [255, 255, 1])],
)
def test_split_txt(length: int, sizes: list[int]) -> None:
    value = "".join(chr(ord("a") + i % 26) for i in range(length))
    strings = split_txt(value)
    assert [len(s) for s in strings] == sizes
    assert "".join(strings) == value


def test_keys_are_pkcs8_pem_published_under_the_selector() -> None:
    assert generate_ed25519_key().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert generate_rsa_key().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert RSA.dns_name == "rsa2026._domainkey.example.com"


# --- refusals ------------------------------------------------------------------------------


def test_short_rsa_key_is_refused() -> None:
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = short.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="1024 bits"):
        RsaSigningKey("example.com", "s", pem)


def test_key_of_the_other_type_is_refused() -> None:
    with pytest.raises(ValueError, match="not an RSA"):
        RsaSigningKey("example.com", "s", generate_ed25519_key())
    with pytest.raises(ValueError, match="not an Ed25519"):
        Ed25519SigningKey("example.com", "s", generate_rsa_key())


@pytest.mark.parametrize(
    ("domain", "selector"),
    [("exa mple.com", "s"), ("example.com", "s;x=1"), ("example.com.", "s"), ("", "s")],
)
def test_bad_domain_or_selector_is_refused(domain: str, selector: str) -> None:
    with pytest.raises(ValueError, match="not a DNS name"):
        Ed25519SigningKey(domain, selector, generate_ed25519_key())


def test_signer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        DkimSigner()


@pytest.mark.parametrize(
    "header",
    [b"To: b@example.org\r\n", b" folded\r\nFrom: a@example.com\r\n", b"From a@example.com\r\n"],
)
def test_malformed_or_fromless_header_is_refused(header: bytes) -> None:
    with pytest.raises(ValueError):
        signer(ED25519).sign(header, body_hash(b""))
