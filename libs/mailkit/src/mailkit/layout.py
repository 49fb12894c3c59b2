"""Where the parts of a campaign's mail go: the missing alternative derived from the other,
the legal footer and the open pixel placed (before `</body>`), the on-behalf headers."""

from __future__ import annotations

import html
import re

from contracts import CampaignScheduled, Footer
from mailkit import template
from mailkit.template import CONTACT, OPEN, UNSUB, Template

_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
ON_BEHALF = ("on_behalf_user", "on_behalf_registered")


def alternatives(c: CampaignScheduled) -> tuple[str, str]:
    """HTML and text sources; the missing one is derived from the other."""
    if c.html_body and c.text_body:
        return c.html_body, c.text_body
    if c.html_body:
        return c.html_body, template.text_from_html(c.html_body)
    text = c.text_body or ""
    return template.html_from_text(text), text


def _footer_lines(footer: Footer) -> list[str]:
    return [line for line in (footer.company_name, footer.postal_address) if line]


def with_text_footer(body: Template, footer: Footer) -> Template:
    if not footer.enabled:
        return body
    out = Template(list(body.parts))
    out.add(template.LITERAL, "\n\n-- \n")
    out.add(template.LITERAL, "配信停止 / Unsubscribe: ")
    out.add(UNSUB, 0)
    out.add(template.LITERAL, "\n")
    for line in _footer_lines(footer):
        out.add(template.LITERAL, line + "\n")
    out.add(template.LITERAL, "お問い合わせ / Contact: ")
    _contact(out, footer, escape=False)
    out.add(template.LITERAL, "\n")
    return out


def _contact(out: Template, footer: Footer, *, escape: bool) -> None:
    if footer.contact:
        out.add(template.LITERAL, html.escape(footer.contact) if escape else footer.contact)
    else:
        out.add(CONTACT, 0)


def with_html_extras(body: Template, footer: Footer, pixel: bool) -> Template:
    """Footer, then pixel, placed before `</body>` (or at the end)."""
    extras = Template()
    if footer.enabled:
        extras.add(
            template.LITERAL,
            '\n<div class="bm-footer" style="margin-top:2em;font-size:12px;color:#666">'
            '<hr>\n<p>配信停止 / Unsubscribe: <a href="',
        )
        extras.add(UNSUB, 0)
        extras.add(template.LITERAL, '">配信停止はこちら / Unsubscribe</a></p>\n<p>')
        for line in _footer_lines(footer):
            extras.add(template.LITERAL, html.escape(line) + "<br>\n")
        extras.add(template.LITERAL, "お問い合わせ / Contact: ")
        _contact(extras, footer, escape=True)
        extras.add(template.LITERAL, "</p></div>\n")
    if pixel:
        extras.add(template.LITERAL, '<img src="')
        extras.add(OPEN, 0)
        extras.add(template.LITERAL, '" width="1" height="1" alt="">')
    if not extras.parts:
        return body
    return _insert_before_body_end(body, extras)


def _insert_before_body_end(body: Template, extras: Template) -> Template:
    """Splice `extras` into the last literal part that holds `</body>`."""
    parts = list(body.parts)
    for index in range(len(parts) - 1, -1, -1):
        kind, value = parts[index]
        if kind != template.LITERAL:
            continue
        ends = list(_BODY_END.finditer(str(value)))
        if not ends:
            continue
        match = ends[-1]
        out = Template(parts[:index])
        out.add(template.LITERAL, str(value)[: match.start()])
        out.extend(extras)
        out.add(template.LITERAL, str(value)[match.start() :])
        for part in parts[index + 1 :]:
            out.add(*part)
        return out
    out = Template(parts)
    out.extend(extras)
    return out
