"""DKIM signing (RFC 6376, relaxed/relaxed) at OpenSSL speed, for mails assembled as bytes.

The body hash is fed while the mail is assembled (`BodyHash.update`), so the body is never
scanned a second time; `DkimSigner.sign` then needs only the header block and that digest.
A signer carries an RSA key (`rsa-sha256`), an Ed25519 key (`ed25519-sha256`, RFC 8463) or
both. With both, the RSA signature comes first: verifiers that check only the topmost
signature, or that do not know Ed25519, still find one they can verify.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

CRLF = b"\r\n"
#: Signed whenever present, in this order; every instance of a repeated field is signed.
SIGNED_HEADERS = tuple(
    b"from to subject date message-id mime-version content-type"
    b" list-unsubscribe list-unsubscribe-post sender reply-to".split()
)
#: Listed once more than present, so that an added instance breaks the signature.
OVERSIGNED = frozenset((b"from", b"to", b"subject", b"date", b"list-unsubscribe"))
TXT_STRING_LIMIT = 255  # bytes in one DNS character-string
_MIN_RSA_BITS = 2048
_WIDTH = 78  # RFC 5322's recommended line length, for the header we add
_WSP_RUN = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")
_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?")


class BodyHash:
    """SHA-256 of the relaxed-canonical body (RFC 6376 3.4.4), fed in chunks of any size.

    Complete lines are canonicalised and hashed as they arrive; only the unfinished last
    line is kept back. Empty lines are counted rather than hashed until a non-empty line
    follows, because trailing empty lines do not count. An unfinished last line is treated
    as if it ended in CRLF, as it will once sent over SMTP.
    """

    __slots__ = ("_empty_lines", "_hash", "_partial")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._partial = b""
        self._empty_lines = 0

    def update(self, chunk: bytes) -> None:
        data = self._partial + chunk if self._partial else chunk
        end = data.rfind(CRLF) + 2
        if end == 1:
            self._partial = data
            return
        self._partial = data[end:]
        lines = data[:end] if end < len(data) else data
        if b" " in lines or b"\t" in lines:
            lines = _WSP_RUN.sub(b" ", lines).replace(b" \r\n", CRLF)
        self._hash_lines(lines)

    def copy(self) -> BodyHash:
        """A hash that goes on from where this one is (the constant start of many bodies)."""
        twin = BodyHash.__new__(BodyHash)
        twin._hash, twin._partial, twin._empty_lines = (
            self._hash.copy(),
            self._partial,
            self._empty_lines,
        )
        return twin

    def digest(self) -> bytes:
        """The body hash so far; more chunks may still follow."""
        final = self._hash.copy()
        last = _WSP_RUN.sub(b" ", self._partial).rstrip(b" ")
        if last:
            final.update(CRLF * self._empty_lines + last + CRLF)
        return final.digest()

    def _hash_lines(self, lines: bytes) -> None:
        """Hash canonical complete lines, holding back the empty lines at their end."""
        end = len(lines) - 2
        while end >= 0 and lines.startswith(CRLF, end):
            end -= 2
        content_end = end + 2
        if content_end == 0:
            self._empty_lines += len(lines) // 2
            return
        if self._empty_lines:
            self._hash.update(CRLF * self._empty_lines)
        whole_lines = content_end + 2
        self._hash.update(lines if whole_lines == len(lines) else memoryview(lines)[:whole_lines])
        self._empty_lines = (len(lines) - whole_lines) // 2


def body_hash(body: bytes) -> bytes:
    """The relaxed body hash of a whole body."""
    hasher = BodyHash()
    hasher.update(body)
    return hasher.digest()


class SigningKey(ABC):
    """A private key together with the domain (d=) and selector (s=) it signs for."""

    algorithm: ClassVar[bytes]

    def __init__(self, domain: str, selector: str) -> None:
        for label in (*domain.split("."), *selector.split(".")):
            if not _NAME.fullmatch(label):
                raise ValueError(f"not a DNS name: d={domain!r} s={selector!r}")
        self.domain = domain
        self.selector = selector

    @property
    def dns_name(self) -> str:
        """Where the TXT record of this key is published."""
        return f"{self.selector}._domainkey.{self.domain}"

    def txt_record(self) -> list[str]:
        """The TXT record value, as the character-strings DNS stores it in."""
        return split_txt(self._record())

    @abstractmethod
    def sign_data(self, data: bytes) -> bytes:
        """The signature over the canonical header data (the b= value, decoded)."""

    @abstractmethod
    def _record(self) -> str: ...


class RsaSigningKey(SigningKey):
    algorithm = b"rsa-sha256"

    def __init__(self, domain: str, selector: str, private_key_pem: bytes) -> None:
        super().__init__(domain, selector)
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("not an RSA private key")
        if key.key_size < _MIN_RSA_BITS:
            raise ValueError(f"RSA key of {key.key_size} bits; DKIM keys need {_MIN_RSA_BITS}")
        self._key = key

    def sign_data(self, data: bytes) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def _record(self) -> str:
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")


class Ed25519SigningKey(SigningKey):
    algorithm = b"ed25519-sha256"

    def __init__(self, domain: str, selector: str, private_key_pem: bytes) -> None:
        super().__init__(domain, selector)
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        self._key = key

    def sign_data(self, data: bytes) -> bytes:
        # RFC 8463: Ed25519 signs the SHA-256 digest of the data, not the data itself.
        return self._key.sign(hashlib.sha256(data).digest())

    def _record(self) -> str:
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode("ascii")


def generate_rsa_key() -> bytes:
    """A new RSA-2048 private key, PKCS#8 PEM."""
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=_MIN_RSA_BITS))


def generate_ed25519_key() -> bytes:
    """A new Ed25519 private key, PKCS#8 PEM."""
    return _pem(ed25519.Ed25519PrivateKey.generate())


def _pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def split_txt(value: str, limit: int = TXT_STRING_LIMIT) -> list[str]:
    """`value` cut into DNS character-strings; resolvers join them back without separator."""
    return [value[i : i + limit] for i in range(0, len(value), limit)] or [""]


class DkimSigner:
    """Signs mails for the domains and selectors of its keys (one signer per sending domain).

    Keys were parsed when the key objects were built; `clock` gives the signing time (t=).
    """

    def __init__(
        self,
        rsa_key: RsaSigningKey | None = None,
        ed25519_key: Ed25519SigningKey | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys: tuple[SigningKey, ...] = tuple(k for k in (rsa_key, ed25519_key) if k)
        if not self._keys:
            raise ValueError("a DKIM signer needs at least one key")
        self._clock = clock

    def sign(self, header_block: bytes, body_digest: bytes) -> bytes:
        """The DKIM-Signature field(s) to put on top of `header_block`, each ending in CRLF.

        `header_block` holds the header fields (CRLF line endings, folding allowed);
        `body_digest` is `BodyHash.digest()` of the body that follows them.
        """
        names, canonical = _signed_headers(_relaxed_fields(header_block))
        header_names = [(b"", b":" + name) for name in names]
        header_names[0] = (b" ", b"h=" + names[0])
        header_names[-1] = (header_names[-1][0], header_names[-1][1] + b";")
        tags = [
            (b" ", b"t=%d;" % int(self._clock())),
            *header_names,
            (b" ", b"bh=" + base64.b64encode(body_digest) + b";"),
        ]
        return b"".join(self._signature(key, tags, canonical) for key in self._keys)

    def sign_message(self, message: bytes) -> bytes:
        """`message` (header, empty line, body; CRLF line endings) with its signature(s)."""
        split = message.find(b"\r\n\r\n")
        header_block, body = (
            (message, b"") if split < 0 else (message[: split + 2], message[split + 4 :])
        )
        return self.sign(header_block, body_hash(body)) + message

    @staticmethod
    def _signature(key: SigningKey, tags: list[tuple[bytes, bytes]], canonical: bytes) -> bytes:
        atoms = [
            (b"", b"DKIM-Signature:"),
            (b" ", b"v=1;"),
            (b" ", b"a=" + key.algorithm + b";"),
            (b" ", b"c=relaxed/relaxed;"),
            (b" ", b"d=" + key.domain.encode("ascii") + b";"),
            (b" ", b"s=" + key.selector.encode("ascii") + b";"),
            *tags,
        ]
        # b= starts a line of its own (as with dkimpy), so its value folds into even lines.
        unsigned = _fold(atoms) + b"\r\n b="
        value = unsigned[len(b"DKIM-Signature:") :]
        signed_data = canonical + b"dkim-signature:" + _relaxed_value(value)
        b64 = base64.b64encode(key.sign_data(signed_data))
        folded = _fold([(b"", b64[i : i + 64]) for i in range(0, len(b64), 64)], len(b" b="))
        return unsigned + folded + CRLF


def _relaxed_fields(header_block: bytes) -> list[tuple[bytes, bytes]]:
    """(name, value) of each field up to the first empty line, canonical as RFC 6376 3.4.2
    has it: names in lower case, values unfolded, WSP runs as one SP and none at the ends."""
    end = header_block.find(b"\r\n\r\n")
    block = b"" if header_block.startswith(CRLF) else header_block[: end + 2 if end >= 0 else None]
    # Whole-block passes, each only when needed, cost less than one regex per field.
    if b"\r\n " in block or b"\r\n\t" in block:
        block = _FOLD.sub(b"", block)
    if b"\t" in block or b"  " in block:
        block = _WSP_RUN.sub(b" ", block)
    fields: list[tuple[bytes, bytes]] = []
    for line in block.split(CRLF):
        if not line:
            continue
        name, colon, value = line.partition(b":")
        if not colon or line[0] in b" \t":
            raise ValueError(f"not a header field: {line[:40]!r}")
        fields.append((name.rstrip(b" ").lower(), value.strip(b" ")))
    return fields


def _signed_headers(fields: list[tuple[bytes, bytes]]) -> tuple[list[bytes], bytes]:
    """The h= names and the canonical fields they select (RFC 6376 5.4.2), in h= order."""
    values: dict[bytes, list[bytes]] = {name: [] for name in SIGNED_HEADERS}
    for name, value in fields:
        if name in values:
            values[name].append(value)
    if not values[b"from"]:
        raise ValueError("a mail without From cannot be DKIM signed")
    names: list[bytes] = []
    canonical: list[bytes] = []
    for name, found in values.items():
        # A verifier takes repeated fields from the bottom up, one per listing in h=.
        for value in reversed(found):
            names.append(name)
            canonical.append(name + b":" + value + CRLF)
        if name in OVERSIGNED:
            names.append(name)
    return names, b"".join(canonical)


def _relaxed_value(value: bytes) -> bytes:
    """RFC 6376 3.4.2 for one folded value: unfolded, WSP runs as one SP, none at the ends."""
    return _WSP_RUN.sub(b" ", value.replace(CRLF, b"")).strip(b" ")


def _fold(atoms: list[tuple[bytes, bytes]], column: int = 0) -> bytes:
    """(separator, text) atoms joined, with CRLF SP for the separator where a line would
    pass _WIDTH; `column` is where the first atom starts."""
    out: list[bytes] = []
    for separator, text in atoms:
        if column and column + len(separator) + len(text) > _WIDTH:
            out.append(b"\r\n ")
            column = 1
        else:
            out.append(separator)
            column += len(separator)
        out.append(text)
        column += len(text)
    return b"".join(out)
