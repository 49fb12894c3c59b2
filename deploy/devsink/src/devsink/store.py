"""Caught messages: kept in memory and appended to a log file so a restart keeps them.

The log is a sequence of records, each a JSON header line followed by `size` raw bytes and
a newline. Appends are buffered and flushed (to the OS, never fsynced): a killed sink keeps
everything it acknowledged, a crashed machine may lose the last moments, which a dev sink
can afford. A truncated record at the end (sink killed mid-write) is cut off at load.
"""

from __future__ import annotations

import bisect
import email.policy
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, BinaryIO

LOG_FILE_NAME = "messages.log"

# Headers a test or an operator usually wants to see without fetching the raw message.
LISTED_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
    "Content-Type",
    "DKIM-Signature",
)
# compat32 plus explicit RFC 2047 decoding is several times faster than policy.default.
_HEADER_PARSER = BytesHeaderParser(policy=email.policy.compat32)
_FOLD = re.compile(r"\r?\n[ \t]+")


@dataclass(slots=True)
class StoredMessage:
    id: int
    mail_from: str
    rcpt_to: tuple[str, ...]
    received_at: float
    raw: bytes
    _headers: dict[str, str] | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.raw)

    def headers(self) -> dict[str, str]:
        """Listed headers, decoded; parsed on first use to keep the SMTP path cheap."""
        if self._headers is None:
            header_block = self.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            parsed = _HEADER_PARSER.parsebytes(header_block)
            self._headers = {
                name: _decoded(value)
                for name, value in parsed.items()
                if name in LISTED_HEADERS or name.lower().startswith("x-")
            }
        return self._headers

    def summary(self) -> dict[str, Any]:
        headers = self.headers()
        return {
            "id": self.id,
            "mail_from": self.mail_from,
            "rcpt_to": list(self.rcpt_to),
            "received_at": _iso_utc(self.received_at),
            "size": self.size,
            "subject": headers.get("Subject", ""),
            "headers": headers,
        }


class MessageStore:
    def __init__(self, directory: Path) -> None:
        self._path = directory / LOG_FILE_NAME
        self._messages: list[StoredMessage] = []
        self._by_rcpt: dict[str, list[StoredMessage]] = defaultdict(list)
        self._next_id = 1
        self._log: BinaryIO | None = None

    @property
    def count(self) -> int:
        return len(self._messages)

    def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.touch()
        good_length = self._load()
        self._log = self._path.open("r+b")
        self._log.truncate(good_length)
        self._log.seek(good_length)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def add(self, mail_from: str, rcpt_to: list[str], raw: bytes) -> StoredMessage:
        message = StoredMessage(self._next_id, mail_from, tuple(rcpt_to), time.time(), raw)
        self._append_record(message)
        self._remember(message)
        return message

    def get(self, message_id: int) -> StoredMessage | None:
        index = bisect.bisect_left(self._messages, message_id, key=_message_id)
        if index < len(self._messages) and self._messages[index].id == message_id:
            return self._messages[index]
        return None

    def find(
        self, *, to: str | None = None, after: int = 0, limit: int = 100
    ) -> list[StoredMessage]:
        candidates = self._messages if to is None else self._by_rcpt.get(to.lower(), [])
        start = bisect.bisect_right(candidates, after, key=_message_id)
        return candidates[start : start + limit]

    def clear(self) -> int:
        """Forget every message; ids keep growing so a client's `after` cursor stays valid."""
        removed = len(self._messages)
        self._messages.clear()
        self._by_rcpt.clear()
        assert self._log is not None, "store is not open"
        self._log.seek(0)
        self._log.truncate()
        self._log.write(json.dumps({"next_id": self._next_id}).encode() + b"\n")
        self._log.flush()
        return removed

    def _remember(self, message: StoredMessage) -> None:
        self._messages.append(message)
        for rcpt in {rcpt.lower() for rcpt in message.rcpt_to}:
            self._by_rcpt[rcpt].append(message)
        self._next_id = message.id + 1

    def _append_record(self, message: StoredMessage) -> None:
        assert self._log is not None, "store is not open"
        header = {
            "id": message.id,
            "from": message.mail_from,
            "to": message.rcpt_to,
            "at": message.received_at,
            "size": message.size,
        }
        self._log.write(json.dumps(header).encode() + b"\n" + message.raw + b"\n")
        self._log.flush()

    def _load(self) -> int:
        """Read the log into memory; return the length of its intact prefix."""
        data = self._path.read_bytes()
        position = 0
        while position < len(data):
            record = _read_record(data, position)
            if record is None:
                break
            header, raw, position = record
            if "next_id" in header:
                self._next_id = max(self._next_id, header["next_id"])
                continue
            message = StoredMessage(
                header["id"], header["from"], tuple(header["to"]), header["at"], raw
            )
            self._remember(message)
        return position


def _read_record(data: bytes, position: int) -> tuple[dict[str, Any], bytes, int] | None:
    line_end = data.find(b"\n", position)
    if line_end < 0:
        return None
    try:
        header = json.loads(data[position:line_end])
    except ValueError:
        return None
    if "next_id" in header:
        return header, b"", line_end + 1
    raw_end = line_end + 1 + header["size"]
    if raw_end + 1 > len(data) or data[raw_end : raw_end + 1] != b"\n":
        return None
    return header, data[line_end + 1 : raw_end], raw_end + 1


def _decoded(value: object) -> str:
    """An RFC 2047 header value as text, unfolded; left as it is when it cannot be decoded."""
    text = _FOLD.sub(" ", str(value))
    try:
        return str(make_header(decode_header(text)))
    except (UnicodeError, LookupError, ValueError):
        return text


def _message_id(message: StoredMessage) -> int:
    return message.id


def _iso_utc(timestamp: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp))
    return f"{seconds}.{int(timestamp % 1 * 1000):03d}Z"
