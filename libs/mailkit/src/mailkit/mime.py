"""Byte-level MIME helpers for the fast path.

Building an `email.message.EmailMessage` per mail costs far more than sending it, so a mail
is assembled from bytes: header values encoded here (RFC 2047 encoded-words for non-ASCII),
bodies as UTF-8 in base64. Base64 lines never start with a dot and header lines never do
either, so the assembled message needs no SMTP dot-stuffing; `smtp_payload` still checks.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime

CRLF = b"\r\n"
_MAX_WORD = 75  # RFC 2047: an encoded-word is at most 75 characters
_WORD_OVERHEAD = len("=?UTF-8?B??=")
_WORD_BYTES = (_MAX_WORD - _WORD_OVERHEAD) // 4 * 3  # raw bytes that fit in one word
_LINE = 76  # RFC 2045: base64 lines of at most 76 characters
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_NEEDS_ENCODING = re.compile(r"[^\x20-\x7e]|=\?")


def encode_words(text: str) -> str:
    """`text` as one or more RFC 2047 B encoded-words, folded with CRLF SP."""
    if len(text.encode()) <= _WORD_BYTES:
        return _word(text)
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    budget = _WORD_BYTES
    for char in text:
        width = len(char.encode())
        if size + width > budget and chunk:
            words.append(_word("".join(chunk)))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    if chunk or not words:
        words.append(_word("".join(chunk)))
    return "\r\n ".join(words)


def _word(text: str) -> str:
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode("ascii") + "?="


def header_text(text: str) -> str:
    """An unstructured header value (e.g. Subject): kept as is when plain ASCII."""
    text = text.replace("\r", " ").replace("\n", " ")
    if _NEEDS_ENCODING.search(text):
        return encode_words(text)
    return text


def mailbox(name: str, email: str) -> str:
    """`name <email>` for From/To/Sender/Reply-To, the name encoded or quoted as needed."""
    name = name.replace("\r", " ").replace("\n", " ").strip()
    if not name:
        return f"<{email}>"
    if _NEEDS_ENCODING.search(name):
        return f"{encode_words(name)} <{email}>"
    if _SPECIALS.search(name):
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{email}>'
    return f"{name} <{email}>"


def base64_body(text: str) -> bytes:
    """UTF-8 text as base64 lines of 76 characters with CRLF endings."""
    encoded = binascii.b2a_base64(text.encode(), newline=False)
    lines = [encoded[i : i + _LINE] for i in range(0, len(encoded), _LINE)]
    lines.append(b"")
    return CRLF.join(lines)


class DateHeader:
    """RFC 5322 date of now, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = format_datetime(datetime.fromtimestamp(now, UTC)).encode("ascii")
        return self._value


def smtp_payload(message: bytes) -> bytes:
    """The DATA payload: dot-stuffed (only when needed) and terminated by CRLF.CRLF."""
    if message.startswith(b".") or b"\n." in message:
        message = re.sub(rb"(?m)^\.", b"..", message)
    if not message.endswith(CRLF):
        message += CRLF
    return message + b".\r\n"
