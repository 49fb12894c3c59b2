"""An import body as lines and CSV records, streamed in bounded memory and linear time.

Lines are split, measured and grouped into CSV records on the raw bytes (the allowed
encodings keep newlines and quotes apart from multibyte characters, see `media`); only
complete lines and records are decoded. What is held between two chunks of the body is
one unfinished line or record, never more than its limit, and every byte is copied a
fixed number of times: a body without newlines, or an unclosed quote, is refused as soon
as it passes the limit, at the line where it starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from recipients.media import Charset
from servicekit.errors import DomainError, FieldError


class MalformedImport(DomainError):
    """The file cannot be read as the declared format; nothing is imported (422)."""

    status = 422

    def __init__(self, line: int | None, reason: str) -> None:
        where = f"line {line}" if line else "body"
        super().__init__([FieldError(where, reason)], **({"line": line} if line else {}))
        self.line = line
        self.reason = reason


class ImportTooLarge(MalformedImport):
    """The file is larger than an import may be (413); nothing is imported."""

    status = 413


@dataclass(frozen=True)
class Limits:
    """How large an import may be; each limit refuses the whole file, naming the line."""

    max_line_bytes: int = 64 * 1024
    max_record_bytes: int = 64 * 1024
    max_rows: int = 5_000_000


async def line_blocks(
    chunks: AsyncIterable[bytes], max_line_bytes: int
) -> AsyncIterator[tuple[int, bytes]]:
    """(number of the first line, the complete lines of a chunk of the body joined by their
    newlines, without the last one); the last line of the body comes last even without a
    newline of its own."""
    pending = bytearray()  # the unfinished last line, at most max_line_bytes
    number = 1
    async for chunk in chunks:
        end = chunk.rfind(b"\n")
        if end < 0:
            pending += chunk
            _check_unfinished(pending, number, max_line_bytes)
            continue
        block = b"".join((pending, memoryview(chunk)[:end])) if pending else chunk[:end]
        pending = bytearray(memoryview(chunk)[end + 1 :])
        lines = block.count(b"\n") + 1
        if len(block) > max_line_bytes:
            _check_lengths(block, number, max_line_bytes)
        _check_unfinished(pending, number + lines, max_line_bytes)
        yield number, block
        number += lines
    if pending:
        yield number, bytes(pending)


def _check_unfinished(pending: bytearray, number: int, limit: int) -> None:
    if len(pending) > limit:
        raise MalformedImport(number, f"line longer than {limit} bytes")


def _check_lengths(block: bytes, first: int, limit: int) -> None:
    lengths = list(map(len, block.split(b"\n")))
    if max(lengths) > limit:
        longest = next(i for i, n in enumerate(lengths) if n > limit)
        raise MalformedImport(first + longest, f"line longer than {limit} bytes")


def decode(charset: Charset, data: bytes, first: int) -> str:
    """Text of lines starting at line `first`; an invalid byte names its own line."""
    try:
        return charset.decode(data, at_start=first == 1)
    except UnicodeDecodeError as exc:
        line = first + data.count(b"\n", 0, exc.start)
        raise MalformedImport(line, f"not valid {charset.name} text") from None


async def text_lines(
    chunks: AsyncIterable[bytes], charset: Charset, limits: Limits
) -> AsyncIterator[tuple[int, list[str]]]:
    """(number of the first line, lines without their ends), a chunk's worth at a time."""
    async for first, block in line_blocks(chunks, limits.max_line_bytes):
        text = decode(charset, block, first)
        yield first, [line.removesuffix("\r") for line in text.split("\n")]


class CsvRecords:
    """Groups raw lines into CSV records: a record is complete when it holds an even number
    of quote characters (RFC 4180 doubles quotes inside quoted fields). A record that
    spans lines is held until it closes, at most `max_record_bytes`."""

    def __init__(self, charset: Charset, max_record_bytes: int) -> None:
        self._charset = charset
        self._limit = max_record_bytes
        self._lines: list[bytes] = []
        self._start = 0
        self._size = 0
        self._quotes = 0

    def feed(self, first: int, block: bytes) -> tuple[list[int], list[str]]:
        """(first line of each completed record, the completed records as text)."""
        if not self._lines and b'"' not in block:  # one line, one record
            text = decode(self._charset, block, first)
            lines = [line.removesuffix("\r") for line in text.split("\n")]
            return list(range(first, first + len(lines))), lines
        starts: list[int] = []
        records: list[str] = []
        for number, line in enumerate(block.split(b"\n"), first):
            if not self._lines:
                self._start, self._size = number, 0
            self._lines.append(line.removesuffix(b"\r"))
            self._size += len(line) + 1
            self._quotes += line.count(b'"')
            if len(self._lines) > 1 and self._size > self._limit:
                raise MalformedImport(
                    self._start,
                    f"a record across lines from here is longer than {self._limit} bytes "
                    "(a closing quote missing?)",
                )
            if self._quotes % 2 == 0:
                starts.append(self._start)
                # The reader keeps the newlines inside quotes, one record per string.
                data = b"\n".join(self._lines)
                records.append(decode(self._charset, data, self._start))
                self._lines, self._quotes = [], 0
        return starts, records

    def check_finished(self) -> None:
        if self._lines:
            raise MalformedImport(self._start, "quoted field is never closed")
