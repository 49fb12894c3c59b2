"""Reading import files: CSV and NDJSON, streamed, into rows for the staging tables.

Only the structure is checked here (encoding, CSV quoting, JSON syntax, known columns,
types); a structural error stops the whole import. What a value means — a valid address,
a duplicate, an existing customer — is decided in SQL over the staged rows, where it is
set-based and a bad value only rejects its row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

from recipients.domain import is_valid_attribute_key
from recipients.media import Charset, Format
from recipients.textstream import (
    CsvRecords,
    ImportTooLarge,
    Limits,
    MalformedImport,
    line_blocks,
    text_lines,
)

_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_json_string: Callable[[str], str] = json.encoder.encode_basestring

CUSTOMER_COLUMNS = ("email", "last_name", "first_name", "company", "owner_user_id")
MEMBER_COLUMNS = ("customer_id", "email")
ATTRIBUTE_COLUMN_PREFIX = "attr."

CustomerRow = tuple[int, str, str | None, str | None, str | None, str | None, str | None]
"""(line, email, last_name, first_name, company, attributes JSON, owner_user_id); None
where the file has no such column (an update then keeps the stored value)."""

MemberRow = tuple[int, str | None, str | None]
"""(line, customer_id, email)."""

R = TypeVar("R", CustomerRow, MemberRow)


async def csv_rows(
    chunks: AsyncIterable[bytes], charset: Charset, limits: Limits
) -> AsyncIterator[tuple[list[str], list[tuple[int, list[str]]]]]:
    """(header, [(line, fields)]) per chunk of the body; blank lines are skipped."""
    records = CsvRecords(charset, limits.max_record_bytes)
    header: list[str] | None = None
    async for first, block in line_blocks(chunks, limits.max_line_bytes):
        starts, complete = records.feed(first, block)
        try:
            parsed = list(csv.reader(complete, strict=True))
        except csv.Error as exc:
            raise MalformedImport(starts[0] if starts else None, f"bad CSV: {exc}") from exc
        rows = [(line, fields) for line, fields in zip(starts, parsed, strict=True) if fields]
        if header is None and rows:
            header = [name.strip() for name in rows.pop(0)[1]]
        if header is not None:
            yield header, rows
    records.check_finished()
    if header is None:
        raise MalformedImport(None, "the file is empty; a header line is required")


def _header_index(
    header: Sequence[str], allowed: Sequence[str], *, attributes: bool = False
) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        key = name.removeprefix(ATTRIBUTE_COLUMN_PREFIX)
        known = name in allowed or (attributes and key != name and is_valid_attribute_key(key))
        if not known:
            expected = ", ".join(allowed) + (", attr.<key>" if attributes else "")
            raise MalformedImport(1, f"unknown column {name!r}; expected {expected}")
        if name in index:
            raise MalformedImport(1, f"column {name!r} appears twice")
        index[name] = position
    return index


def _customer_from_csv(header: Sequence[str]) -> Callable[[int, list[str]], CustomerRow]:
    index = _header_index(header, CUSTOMER_COLUMNS, attributes=True)
    if "email" not in index:
        raise MalformedImport(1, "an 'email' column is required")
    width = len(header)
    # A column the file lacks is read from position `width`, where each row gets a None.
    columns = itemgetter(*(index.get(name, width) for name in CUSTOMER_COLUMNS))
    # Attribute keys are JSON-encoded once; a row only encodes its values.
    attributes = [
        (_json_string(name.removeprefix(ATTRIBUTE_COLUMN_PREFIX)) + ":", i)
        for name, i in index.items()
        if name not in CUSTOMER_COLUMNS
    ]

    def row(line: int, fields: list[Any]) -> CustomerRow:
        if len(fields) != width:
            raise MalformedImport(line, f"{len(fields)} fields where the header has {width}")
        fields.append(None)
        email, last, first, company, owner = columns(fields)
        attrs = None
        if attributes:
            # An empty cell is no value: the key is left out, as merge fields expect.
            pairs = [key + _json_string(fields[i]) for key, i in attributes if fields[i]]
            attrs = "{" + ",".join(pairs) + "}"
        return line, email.strip(), last, first, company, attrs, owner.strip() if owner else owner

    return row


def _member_from_csv(header: Sequence[str]) -> Callable[[int, list[str]], MemberRow]:
    index = _header_index(header, MEMBER_COLUMNS)
    if not index:
        raise MalformedImport(1, "a 'customer_id' or an 'email' column is required")
    width = len(header)
    customer, email = index.get("customer_id"), index.get("email")

    def row(line: int, fields: list[str]) -> MemberRow:
        if len(fields) != width:
            raise MalformedImport(line, f"{len(fields)} fields where the header has {width}")
        return (
            line,
            None if customer is None else fields[customer].strip() or None,
            None if email is None else fields[email].strip() or None,
        )

    return row


# ---------------------------------------------------------------- NDJSON


def _object(line: int, text: str, allowed: Sequence[str]) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise MalformedImport(line, f"not valid JSON: {exc}") from exc
    except RecursionError:
        raise MalformedImport(line, "not valid JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedImport(line, "each line must be a JSON object")
    unknown = set(value) - set(allowed)
    if unknown:
        raise MalformedImport(line, f"unknown field(s) {sorted(unknown)}; allowed: {list(allowed)}")
    return value


def _text(line: int, value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedImport(line, f"{name} must be a string")
    return value


def _customer_from_json(line: int, text: str) -> CustomerRow:
    obj = _object(line, text, (*CUSTOMER_COLUMNS, "attributes"))
    if "email" not in obj:
        raise MalformedImport(line, "email is required")
    last, first, company, owner = (
        _text(line, obj[name], name) if name in obj else None for name in CUSTOMER_COLUMNS[1:]
    )
    attributes = obj.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict) or not all(
            isinstance(v, str) and is_valid_attribute_key(k) for k, v in attributes.items()
        ):
            raise MalformedImport(
                line, "attributes must be an object of strings with keys like attr.<key>"
            )
        attributes = {k: v for k, v in attributes.items() if v}
    return (
        line,
        _text(line, obj["email"], "email").strip(),
        last,
        first,
        company,
        None if attributes is None else _json(attributes),
        owner and owner.strip(),
    )


def _member_from_json(line: int, text: str) -> MemberRow:
    obj = _object(line, text, MEMBER_COLUMNS)
    if not obj:
        raise MalformedImport(line, "customer_id or email is required")
    customer, email = (_text(line, obj.get(name), name).strip() or None for name in MEMBER_COLUMNS)
    return line, customer, email


# ---------------------------------------------------------------- rows for the staging tables


def customer_rows(
    chunks: AsyncIterable[bytes], fmt: Format, charset: Charset, limits: Limits
) -> AsyncIterator[list[CustomerRow]]:
    """The file's customers, in batches, as staging rows."""
    return _rows(chunks, fmt, charset, limits, _customer_from_csv, _customer_from_json)


def member_rows(
    chunks: AsyncIterable[bytes], fmt: Format, charset: Charset, limits: Limits
) -> AsyncIterator[list[MemberRow]]:
    """The file's memberships, in batches, as staging rows."""
    return _rows(chunks, fmt, charset, limits, _member_from_csv, _member_from_json)


def _rows(
    chunks: AsyncIterable[bytes],
    fmt: Format,
    charset: Charset,
    limits: Limits,
    from_csv: Callable[[Sequence[str]], Callable[[int, list[str]], R]],
    from_json: Callable[[int, str], R],
) -> AsyncIterator[list[R]]:
    if fmt is Format.CSV:
        batches = _csv_batches(chunks, charset, limits, from_csv)
    else:
        batches = _json_batches(chunks, charset, limits, from_json)
    return _counted(batches, limits.max_rows)


async def _csv_batches(
    chunks: AsyncIterable[bytes],
    charset: Charset,
    limits: Limits,
    from_csv: Callable[[Sequence[str]], Callable[[int, list[str]], R]],
) -> AsyncIterator[list[R]]:
    convert: Callable[[int, list[str]], R] | None = None
    async for header, rows in csv_rows(chunks, charset, limits):
        convert = convert or from_csv(header)  # checks the header even without rows
        if rows:
            yield [convert(line, fields) for line, fields in rows]


async def _json_batches(
    chunks: AsyncIterable[bytes],
    charset: Charset,
    limits: Limits,
    from_json: Callable[[int, str], R],
) -> AsyncIterator[list[R]]:
    async for first, lines in text_lines(chunks, charset, limits):
        batch = [from_json(n, text) for n, text in enumerate(lines, first) if text.strip()]
        if batch:
            yield batch


async def _counted(batches: AsyncIterator[list[R]], max_rows: int) -> AsyncIterator[list[R]]:
    """The batches, refused (413) at the first row past `max_rows`; rows start with their
    line."""
    seen = 0
    async for batch in batches:
        seen += len(batch)
        if seen > max_rows:
            line = batch[len(batch) - (seen - max_rows)][0]
            raise ImportTooLarge(line, f"more than {max_rows} rows; split the file")
        yield batch
