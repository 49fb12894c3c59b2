"""What an import body says it is: CSV or NDJSON, in one of the text encodings of Japanese
and Western CSV files (SPEC §11). Nothing else is read.

In each allowed encoding the bytes of a newline and of a double quote never occur inside
a multibyte character: lines and CSV quotes are found in the raw bytes, with exact limits
in bytes, before anything is decoded, and each decoded piece is complete text. Codecs
that are not text encodings (`bz2_codec`, `base64_codec`, ...) and those that break this
(UTF-16, ISO-2022-JP) never run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from servicekit.errors import DomainError, FieldError


class Format(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


@dataclass(frozen=True)
class Charset:
    """A text encoding an import may be in: its name, the codec that decodes it, and the
    byte order mark allowed (and dropped) at the start of the file."""

    name: str
    codec: str
    bom: bytes = b""

    def decode(self, data: bytes, *, at_start: bool = False) -> str:
        """Text of `data`; raises UnicodeDecodeError on bytes that are not valid text."""
        if at_start and self.bom and data.startswith(self.bom):
            data = data[len(self.bom) :]
        return data.decode(self.codec)


UTF_8 = Charset("utf-8", "utf-8", bom=b"\xef\xbb\xbf")
# Files labelled Shift_JIS are read as CP932, Microsoft's superset that Excel in Japan
# writes (①, ㈱, NEC and IBM extensions); the WHATWG Encoding Standard does the same.
SHIFT_JIS = Charset("shift_jis", "cp932")
CP932 = Charset("cp932", "cp932")
EUC_JP = Charset("euc-jp", "euc_jp")

#: Labels by their spelling without case, "-" and "_": `Shift_JIS`, `shift-jis` and
#: `SHIFTJIS` are one label.
_LABELS = {
    **dict.fromkeys(("utf8", "utf8sig", "unicode11utf8"), UTF_8),
    **dict.fromkeys(("shiftjis", "sjis", "xsjis", "mskanji", "csshiftjis"), SHIFT_JIS),
    **dict.fromkeys(("cp932", "ms932", "windows31j", "cswindows31j", "xmscp932"), CP932),
    **dict.fromkeys(("eucjp", "xeucjp", "ujis", "cseucpkdfmtjapanese"), EUC_JP),
}
ALLOWED = [UTF_8.name, SHIFT_JIS.name, CP932.name, EUC_JP.name]

_MEDIA_TYPES = {
    "text/csv": Format.CSV,
    "application/csv": Format.CSV,
    "application/x-ndjson": Format.NDJSON,
    "application/ndjson": Format.NDJSON,
    "application/jsonl": Format.NDJSON,
    "application/x-jsonlines": Format.NDJSON,
}


class UnsupportedMedia(DomainError):
    """The body is not in a format or encoding imports read (415); nothing was read."""

    status = 415

    def __init__(self, field: str, reason: str, allowed: list[str]) -> None:
        super().__init__([FieldError(field, reason, allowed=allowed)])
        self.reason = reason


def charset_named(label: str) -> Charset:
    """The allowed encoding a charset label names (any case, common aliases)."""
    key = label.strip().strip('"').lower().replace("-", "").replace("_", "")
    charset = _LABELS.get(key)
    if charset is None:
        shown = label if len(label) <= 40 else label[:40] + "…"
        raise UnsupportedMedia("charset", f"charset {shown!r} is not accepted", ALLOWED)
    return charset


def parse_content_type(header: str) -> tuple[Format, Charset]:
    """(format, encoding) from a Content-Type header; UTF-8, with or without a byte order
    mark, unless a charset says otherwise (Excel in Japan writes Shift_JIS)."""
    media, _, params = header.partition(";")
    fmt = _MEDIA_TYPES.get(media.strip().lower())
    if fmt is None:
        raise UnsupportedMedia(
            "content-type",
            "Content-Type must be text/csv or application/x-ndjson",
            sorted(_MEDIA_TYPES),
        )
    charset = UTF_8
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset":
            charset = charset_named(value)
    return fmt, charset
