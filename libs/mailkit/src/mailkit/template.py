"""Templates compiled once per campaign into a flat list of parts.

Why not a template engine: a campaign template may only contain `{{ name }}` merge fields
(contracts.merge). Splitting the text at those placeholders once and joining literal parts
with values per message is both faster than any engine and safe by construction: nothing
in a template is ever evaluated, so `{% ... %}`, attribute access or filters written by a
user stay literal text, and a merge value can never inject template syntax.

A part is a tuple `(kind, value)`:
    LITERAL  the text itself
    FIELD    a merge field name; HTML-escaped when the template is HTML
    LINK     index of a tracked link (its destination is a sub-template)
    OPEN     the open pixel URL
    UNSUB    the unsubscribe URL
    CONTACT  the sender address (footer contact when the tenant gave none)
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from contracts.merge import PLACEHOLDER

LITERAL, FIELD, LINK, OPEN, UNSUB, CONTACT = range(6)

Part = tuple[int, str | int]

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
# A URL may hold merge placeholders (`https://x/?id={{ attr.id }}`); it ends at white space.
_TEXT_URL = re.compile(
    r"""https?://(?:\{\{\s*[\w.]+\s*\}\}|[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%()])+"""
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"。、）」』"


@dataclass
class Template:
    parts: list[Part] = field(default_factory=list)

    def add(self, kind: int, value: str | int) -> None:
        if kind == LITERAL and self.parts and self.parts[-1][0] == LITERAL:
            self.parts[-1] = (LITERAL, str(self.parts[-1][1]) + str(value))
        elif kind != LITERAL or value:
            self.parts.append((kind, value))

    def extend(self, other: Template) -> None:
        for kind, value in other.parts:
            self.add(kind, value)


@dataclass
class Links:
    """Destinations of the tracked links of one campaign, shared by its HTML and text."""

    destinations: list[Template] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def slot(self, url_template: str) -> int:
        if url_template not in self._index:
            self._index[url_template] = len(self.destinations)
            self.destinations.append(split_fields(url_template))
        return self._index[url_template]


def split_fields(text: str) -> Template:
    """Literal text and merge fields."""
    template = Template()
    pos = 0
    for match in PLACEHOLDER.finditer(text):
        template.add(LITERAL, text[pos : match.start()])
        template.add(FIELD, match.group(1))
        pos = match.end()
    template.add(LITERAL, text[pos:])
    return template


def compile_html(source: str, links: Links | None) -> Template:
    """An HTML template; with `links`, every http(s) href becomes a tracked link."""
    if links is None:
        return split_fields(source)
    # The attribute holds HTML; the destination signed into the token is the real URL.
    hrefs = ((m.start(3), m.end(3), html.unescape(m.group(3))) for m in _HREF.finditer(source))
    return _with_links(source, links, hrefs)


def compile_text(source: str, links: Links | None) -> Template:
    """A plain-text template; with `links`, every bare http(s) URL becomes a tracked link."""
    if links is None:
        return split_fields(source)
    return _with_links(source, links, _bare_urls(source))


def _with_links(source: str, links: Links, spans: Iterable[tuple[int, int, str]]) -> Template:
    """Literal text and merge fields, with a tracked link for each (start, end, URL) span."""
    template = Template()
    pos = 0
    for start, end, url in spans:
        template.extend(split_fields(source[pos:start]))
        template.add(LINK, links.slot(url))
        pos = end
    template.extend(split_fields(source[pos:]))
    return template


def _bare_urls(source: str) -> Iterator[tuple[int, int, str]]:
    for match in _TEXT_URL.finditer(source):
        if _inside_placeholder(source, match.start()):
            continue
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        yield match.start(), match.start() + len(url), url


def _inside_placeholder(source: str, index: int) -> bool:
    opened = source.rfind("{{", 0, index)
    return opened != -1 and source.find("}}", opened) > index


def render(
    template: Template,
    values: dict[str, str | None],
    urls: list[str],
    specials: dict[int, str],
    *,
    escape: bool,
) -> str:
    """Join the parts for one message: merge `values` (a missing one renders empty), tracked
    link `urls` by index, and the `specials` (OPEN, UNSUB, CONTACT) by kind.

    URLs and specials are ASCII made of URL-safe characters, so they need no escaping."""
    out: list[str] = []
    append = out.append
    for kind, value in template.parts:
        if kind == LITERAL:
            append(value)  # type: ignore[arg-type]
        elif kind == FIELD:
            text = values.get(value) or ""  # type: ignore[arg-type]
            append(html.escape(text) if escape else text)
        elif kind == LINK:
            append(urls[value])  # type: ignore[index]
        else:
            append(specials[kind])
    return "".join(out)


# ---------------------------------------------------------------- alternatives

_DROP_BLOCKS = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAKS = re.compile(r"<br\s*/?>|</(p|div|h[1-6]|li|tr|table|blockquote)\s*>", re.IGNORECASE)
_ANCHOR = re.compile(
    r"""<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>(.*?)</a\s*>""", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n[ \t]*\n([ \t]*\n)+")


def text_from_html(source: str) -> str:
    """A readable plain-text alternative of an HTML body (links kept as `label (url)`)."""
    text = _DROP_BLOCKS.sub("", source)
    text = _ANCHOR.sub(_anchor_as_text, text)
    text = _BREAKS.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"


def _anchor_as_text(match: re.Match[str]) -> str:
    url, label = match.group(2), _TAG.sub("", match.group(3)).strip()
    if not label or label == url:
        return url
    return f"{label} ({url})"


def html_from_text(source: str) -> str:
    """An HTML alternative of a plain-text body: escaped, line breaks kept, URLs linked."""
    out: list[str] = []
    pos = 0
    for match in _TEXT_URL.finditer(source):
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        if _inside_placeholder(source, match.start()):
            continue
        out.append(html.escape(source[pos : match.start()], quote=False))
        out.append(f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>')
        pos = match.start() + len(url)
    out.append(html.escape(source[pos:], quote=False))
    body = "".join(out).replace("\r\n", "\n").replace("\n", "<br>\n")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )
