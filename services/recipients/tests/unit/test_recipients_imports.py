"""Reading CSV and NDJSON import files into staging rows."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from recipients.imports import customer_rows, member_rows
from recipients.media import (
    CP932,
    EUC_JP,
    SHIFT_JIS,
    UTF_8,
    Charset,
    Format,
    UnsupportedMedia,
    parse_content_type,
)
from recipients.textstream import ImportTooLarge, Limits, MalformedImport

LIMITS = Limits()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    """The body in small chunks, so that lines and characters straddle chunk borders."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def customers(
    data: bytes, fmt: Format = Format.CSV, charset: Charset = UTF_8, limits: Limits = LIMITS
) -> list:
    rows = customer_rows(chunks(data), fmt, charset, limits)
    return [row async for batch in rows for row in batch]


async def members(data: bytes, fmt: Format = Format.CSV) -> list:
    return [row async for batch in member_rows(chunks(data), fmt, UTF_8, LIMITS) for row in batch]


def test_content_type_gives_format_and_charset() -> None:
    assert parse_content_type("text/csv") == (Format.CSV, UTF_8)
    assert parse_content_type("text/csv; charset=Shift_JIS") == (Format.CSV, SHIFT_JIS)
    assert parse_content_type("application/x-ndjson; charset=utf-8") == (Format.NDJSON, UTF_8)
    for bad in ("application/json", "", "text/csv; charset=klingon"):
        with pytest.raises(UnsupportedMedia):
            parse_content_type(bad)


@pytest.mark.parametrize(
    ("label", "charset"),
    [
        ("UTF-8", UTF_8),
        ("utf8", UTF_8),
        ('"utf-8"', UTF_8),
        ("utf-8-sig", UTF_8),
        ("shift_jis", SHIFT_JIS),
        ("SHIFT-JIS", SHIFT_JIS),
        ("sjis", SHIFT_JIS),
        ("x-sjis", SHIFT_JIS),
        ("windows-31j", CP932),
        ("CP932", CP932),
        ("ms932", CP932),
        ("euc-jp", EUC_JP),
        ("EUC_JP", EUC_JP),
        ("x-euc-jp", EUC_JP),
    ],
)
def test_the_allowed_encodings_go_by_their_common_names(label: str, charset: Charset) -> None:
    assert parse_content_type(f"text/csv; charset={label}") == (Format.CSV, charset)


@pytest.mark.parametrize(
    "label",
    [
        "bz2_codec",
        "zlib_codec",
        "base64_codec",
        "hex_codec",
        "uu_codec",
        "quopri_codec",
        "rot13",
        "utf-16",
        "utf-16-le",
        "utf-32",
        "utf-7",
        "iso-2022-jp",
        "punycode",
        "idna",
        "latin-1",
        "ascii",
        "",
        "x" * 500,
    ],
)
def test_every_other_charset_is_refused_with_the_allowed_list(label: str) -> None:
    with pytest.raises(UnsupportedMedia) as refused:
        parse_content_type(f"text/csv; charset={label}")
    assert refused.value.status == 415
    [error] = refused.value.errors
    assert error.field == "charset" and error.allowed == ["utf-8", "shift_jis", "cp932", "euc-jp"]
    assert len(error.reason) < 100


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


async def test_japanese_files_are_read_in_their_charset() -> None:
    for charset, company in ((SHIFT_JIS, "①\n㈱表示"), (EUC_JP, "表示\n能力")):
        text = f'email,last_name,company\nyamada@example.jp,山田,"{company}"\n'
        rows = await customers(text.encode(charset.codec), charset=charset)
        assert rows[0][:5] == (2, "yamada@example.jp", "山田", None, company), charset
    bom = await customers(b"\xef\xbb\xbfemail\r\na@example.com\r\n")
    assert bom == [(2, "a@example.com", None, None, None, None, None)]


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


class Endless:
    """A body of `total` bytes made of `piece` repeated, in chunks; counts what was read."""

    def __init__(self, head: bytes, piece: bytes, total: int, size: int = 4096) -> None:
        self.head, self.piece, self.total, self.size, self.read = head, piece, total, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = (self.piece * (self.size // max(len(self.piece), 1) + 1))[: self.size]
        yield self.head
        self.read = len(self.head)
        while self.read < self.total:
            self.read += len(chunk)
            yield chunk


async def read_all(body: Endless, fmt: Format = Format.CSV, limits: Limits = LIMITS) -> list:
    return [row async for batch in customer_rows(body, fmt, UTF_8, limits) for row in batch]


@pytest.mark.parametrize("fmt", [Format.CSV, Format.NDJSON])
async def test_a_body_without_newlines_is_refused_once_past_the_line_limit(fmt: Format) -> None:
    body = Endless(b"", b"x", 64 << 20)
    with pytest.raises(MalformedImport) as refused:
        await read_all(body, fmt)
    assert refused.value.status == 422 and refused.value.line == 1
    assert "line longer than 65536 bytes" in refused.value.reason
    assert body.read < 2 * LIMITS.max_line_bytes


async def test_a_long_line_among_short_ones_is_named() -> None:
    data = b"email\na@example.com\n" + b"b" * 70_000 + b"\nc@example.com\n"
    with pytest.raises(MalformedImport) as refused:
        await customers(data)
    assert refused.value.line == 3 and "65536" in refused.value.reason
    with pytest.raises(MalformedImport) as refused:
        await read_all(Endless(data, b"-", len(data)))  # all in one chunk
    assert refused.value.line == 3


async def test_an_unclosed_quote_is_refused_once_past_the_record_limit() -> None:
    body = Endless(b'email,last_name\na@example.com,"\n', b"a\n", 32 << 20)
    with pytest.raises(MalformedImport) as refused:
        await read_all(body)
    assert refused.value.status == 422 and refused.value.line == 2
    assert "longer than 65536 bytes" in refused.value.reason
    assert body.read < 2 * LIMITS.max_record_bytes


async def test_records_across_lines_are_read_up_to_the_record_limit() -> None:
    limits = Limits(max_line_bytes=100, max_record_bytes=250)
    company = "\n".join(["x" * 60] * 3)
    rows = await customers(f'email,company\na@example.com,"{company}"\n'.encode(), limits=limits)
    assert rows == [(2, "a@example.com", None, None, company, None, None)]
    longer = "\n".join(["x" * 60] * 5)
    with pytest.raises(MalformedImport) as refused:
        await customers(f'email,company\na@example.com,"{longer}"\n'.encode(), limits=limits)
    assert refused.value.line == 2


@pytest.mark.parametrize(
    ("fmt", "data", "line"),
    [
        (Format.CSV, b"email\n" + b"a@example.com\n\n" * 4, 8),
        (Format.NDJSON, b'{"email": "a@example.com"}\n\n' * 4, 7),
    ],
)
async def test_more_rows_than_allowed_are_refused_naming_the_first_one_over(
    fmt: Format, data: bytes, line: int
) -> None:
    limits = Limits(max_rows=3)
    with pytest.raises(ImportTooLarge) as refused:
        await customers(data, fmt, limits=limits)
    assert refused.value.status == 413 and refused.value.line == line
    assert "more than 3 rows" in refused.value.reason
    assert len(await customers(data, fmt, limits=Limits(max_rows=4))) == 4


async def test_a_long_line_is_read_in_linear_time() -> None:
    """Each chunk of an unfinished line is appended once, not copied again with the next."""
    limits = Limits(max_line_bytes=64 << 20)
    body = Endless(b'{"email": "', b"x", 32 << 20, size=1024)
    started = time.perf_counter()
    with pytest.raises(MalformedImport, match="Unterminated string"):
        await read_all(body, Format.NDJSON, limits)
    assert time.perf_counter() - started < 5


async def test_json_nested_too_deeply_is_refused_as_malformed() -> None:
    data = b'{"email": "a@example.com"}\n' + b"[" * 60_000 + b"\n"
    with pytest.raises(MalformedImport) as refused:
        await customers(data, Format.NDJSON)
    assert refused.value.line == 2 and "JSON" in refused.value.reason
