"""Reading CSV and NDJSON import files into staging rows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from recipients.imports import (
    Format,
    MalformedImport,
    customer_rows,
    member_rows,
    parse_content_type,
)


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    """The body in small chunks, so that lines and characters straddle chunk borders."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def customers(data: bytes, fmt: Format = Format.CSV, encoding: str = "utf-8-sig") -> list:
    return [row async for batch in customer_rows(chunks(data), fmt, encoding) for row in batch]


async def members(data: bytes, fmt: Format = Format.CSV) -> list:
    return [row async for batch in member_rows(chunks(data), fmt, "utf-8-sig") for row in batch]


def test_content_type_gives_format_and_charset() -> None:
    assert parse_content_type("text/csv") == (Format.CSV, "utf-8-sig")
    assert parse_content_type("text/csv; charset=Shift_JIS") == (Format.CSV, "shift_jis")
    assert parse_content_type("application/x-ndjson; charset=utf-8") == (
        Format.NDJSON,
        "utf-8-sig",
    )
    for bad in ("application/json", "", "text/csv; charset=klingon"):
        with pytest.raises(MalformedImport):
            parse_content_type(bad)


async def test_csv_rows_keep_their_line_numbers_across_quoted_newlines() -> None:
    data = (
        "\ufeffemail,last_name,first_name,company,attr.plan\r\n"
        'a@example.com,山田,太郎,"Acme, ""Tokyo""",gold\r\n'
        "\r\n"
        'b@example.com,"Multi\nline",,Beta,\r\n'
        "c@example.com,,,,\n"
    ).encode()
    rows = await customers(data)
    assert rows == [
        (2, "a@example.com", "山田", "太郎", 'Acme, "Tokyo"', '{"plan":"gold"}', None),
        (4, "b@example.com", "Multi\nline", "", "Beta", "{}", None),
        (6, "c@example.com", "", "", "", "{}", None),
    ]


async def test_columns_the_file_lacks_stay_none() -> None:
    rows = await customers(b"email\nx@example.com")
    assert rows == [(2, "x@example.com", None, None, None, None, None)]


async def test_shift_jis_files_are_read_with_their_charset() -> None:
    data = "email,last_name\nyamada@example.jp,山田\n".encode("shift_jis")
    rows = await customers(data, encoding="shift_jis")
    assert rows[0][:3] == (2, "yamada@example.jp", "山田")


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"", None, "empty"),
        (b"last_name\nx\n", 1, "'email' column is required"),
        (b"email,nickname\n", 1, "unknown column 'nickname'"),
        (b"email,attr.bad-key\n", 1, "unknown column"),
        (b"email,email\n", 1, "appears twice"),
        (b"email,company\na@example.com,x\nb@example.com\n", 3, "1 fields"),
        (b'email,company\na@example.com,"never closed\n', 2, "never closed"),
        (b"email\n\xff\xfe@example.com\n", 2, "not valid"),
    ],
)
async def test_unreadable_csv_stops_the_import(data: bytes, line: int | None, reason: str) -> None:
    with pytest.raises(MalformedImport) as error:
        await customers(data)
    assert error.value.line == line and reason in error.value.reason


async def test_header_only_csv_is_an_empty_import() -> None:
    assert await customers(b"email,last_name\n") == []


async def test_ndjson_customers() -> None:
    lines = [
        {"email": " a@example.com ", "last_name": "山田", "attributes": {"plan": "gold", "x": ""}},
        {"email": "b@example.com", "owner_user_id": None, "company": None},
    ]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode() + b"\n\n"
    rows = await customers(data, Format.NDJSON)
    assert rows == [
        (1, "a@example.com", "山田", None, None, '{"plan":"gold"}', None),
        (2, "b@example.com", None, None, "", None, ""),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"last_name": "x"}', "email is required"),
        ('{"email": "a@example.com", "nick": "x"}', "unknown field"),
        ('{"email": 5}', "email must be a string"),
        ('{"email": "a@example.com", "attributes": {"n": 1}}', "attributes"),
        ('{"email": "a@example.com", "attributes": {"bad key": "v"}}', "attributes"),
    ],
)
async def test_unreadable_ndjson_stops_the_import(line: str, reason: str) -> None:
    data = b'{"email": "ok@example.com"}\n' + line.encode() + b"\n"
    with pytest.raises(MalformedImport) as error:
        await customers(data, Format.NDJSON)
    assert error.value.line == 2 and reason in error.value.reason


async def test_membership_rows_name_a_customer_by_id_or_address() -> None:
    csv_rows = await members(b"customer_id,email\n,a@example.com\n0190-x,\n")
    assert csv_rows == [(2, None, "a@example.com"), (3, "0190-x", None)]
    ndjson = await members(b'{"email": "a@example.com"}\n{"customer_id": "abc"}\n', Format.NDJSON)
    assert ndjson == [(1, None, "a@example.com"), (2, "abc", None)]
    with pytest.raises(MalformedImport):
        await members(b"{}\n", Format.NDJSON)
