"""A campaign compiled once, then one mail per recipient assembled as bytes.

Per campaign: subject and bodies split into parts (template.py), links found, the footer
and pixel placed, constant headers and MIME boundaries encoded. Per message: merge values
joined in, tokens signed (one per distinct link, plus open and unsubscribe), bodies base64
encoded, headers concatenated, and the DKIM signature prepended when a key is configured.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from contracts import CampaignScheduled, Footer, RecipientResolved
from mailkit import mime, template
from mailkit.template import CONTACT, OPEN, UNSUB, Links, Template
from servicekit.tokens import Kind, TokenCodec

_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
ON_BEHALF = ("on_behalf_user", "on_behalf_registered")


class Signer(Protocol):
    """Adds a signature header (DKIM) to a finished message."""

    def __call__(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class RenderConfig:
    tracking_base_url: str
    bounce_domain: str
    codec: TokenCodec
    message_id_domain: str = ""
    signer: Signer | None = None


@dataclass(frozen=True, slots=True)
class Mail:
    """One SMTP transaction: envelope and the DATA payload, ready for the wire."""

    mail_from: str
    rcpt: str
    data: bytes


class CompiledCampaign:
    def __init__(self, campaign: CampaignScheduled, config: RenderConfig) -> None:
        self.campaign = campaign
        self._config = config
        self._base = config.tracking_base_url.rstrip("/")
        self._track_opens = campaign.tracking.track_opens
        links = Links() if campaign.tracking.track_clicks else None
        html_source, text_source = _alternatives(campaign)
        self._html = _with_html_extras(
            template.compile_html(html_source, links), campaign.footer, self._track_opens
        )
        self._text = _with_text_footer(template.compile_text(text_source, links), campaign.footer)
        self._links = links.destinations if links else []
        self._constant_links = [_constant(d) for d in self._links]
        self._subject = template.split_fields(campaign.subject)
        subject = _constant(self._subject)
        self._subject_header = None if subject is None else mime.header_text(subject).encode()
        self._boundary = f"=_bm_{secrets.token_hex(12)}"
        self._sender_header = _sender_headers(campaign)
        self._date = mime.DateHeader()
        self._tail = (
            "MIME-Version: 1.0\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            f"X-Campaign-ID: {campaign.campaign_id}\r\n"
            f'Content-Type: multipart/alternative; boundary="{self._boundary}"\r\n'
            "\r\n"
            f"--{self._boundary}\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        self._between = (
            f"--{self._boundary}\r\n"
            'Content-Type: text/html; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        self._end = f"--{self._boundary}--\r\n".encode()
        self._mailboxes: dict[tuple[str, str], bytes] = {}

    def render(self, r: RecipientResolved, issued_at: int) -> Mail:
        codec, base = self._config.codec, self._base
        ids = (
            r.tenant_id.bytes
            + r.campaign_id.bytes
            + r.message_id.bytes
            + r.customer_id.bytes
            + r.notify_user_id.bytes
        )
        unsubscribe = f"{base}/u/{codec.sign_parts(Kind.UNSUBSCRIBE, issued_at, ids)}"
        specials = {UNSUB: unsubscribe, CONTACT: r.sender.email}
        if self._track_opens:
            specials[OPEN] = f"{base}/o/{codec.sign_parts(Kind.OPEN, issued_at, ids)}"
        values = r.merge_values
        urls = self._link_urls(values, ids, issued_at)
        text = template.render(self._text, values, urls, specials, escape=False)
        specials[CONTACT] = html.escape(r.sender.email)
        body_html = template.render(self._html, values, urls, specials, escape=True)
        if self._subject_header is None:
            subject = mime.header_text(template.render(self._subject, values, [], {}, escape=False))
            subject_header = subject.encode()
        else:
            subject_header = self._subject_header
        head = b"".join(
            (
                b"From: ",
                self._mailbox(r.sender.name, r.sender.email),
                b"\r\nTo: ",
                mime.mailbox(r.name, r.email).encode(),
                b"\r\n",
                self._sender_header,
                b"Subject: ",
                subject_header,
                b"\r\nDate: ",
                self._date(),
                b"\r\nMessage-ID: <",
                str(r.message_id).encode(),
                b"@",
                (self._config.message_id_domain or _domain(r.sender.email)).encode(),
                b">\r\nX-Message-ID: ",
                str(r.message_id).encode(),
                b"\r\nList-Unsubscribe: <",
                unsubscribe.encode(),
                b">\r\n",
                self._tail,
            )
        )
        message = b"".join(
            (
                head,
                mime.base64_body(text),
                self._between,
                mime.base64_body(body_html),
                self._end,
            )
        )
        if self._config.signer is not None:
            message = self._config.signer(message)
        bounce = self._config.codec.sign_bounce(r.tenant_id, r.message_id)
        return Mail(f"{bounce}@{self._config.bounce_domain}", r.email, mime.smtp_payload(message))

    def _link_urls(self, values: dict[str, str | None], ids: bytes, issued_at: int) -> list[str]:
        if not self._links:
            return []
        sign, base = self._config.codec.sign_parts, self._base
        signed: dict[str, str] = {}
        urls = []
        for destination, constant in zip(self._links, self._constant_links, strict=True):
            url = constant or template.render(destination, values, [], {}, escape=False)
            if url not in signed:
                signed[url] = f"{base}/c/{sign(Kind.CLICK, issued_at, ids, url)}"
            urls.append(signed[url])
        return urls

    def _mailbox(self, name: str, email: str) -> bytes:
        key = (name, email)
        value = self._mailboxes.get(key)
        if value is None:
            if len(self._mailboxes) > 10_000:
                self._mailboxes.clear()
            value = self._mailboxes[key] = mime.mailbox(name, email).encode()
        return value


def _constant(t: Template) -> str | None:
    """The text of a template without merge fields, else None."""
    if any(kind != template.LITERAL for kind, _ in t.parts):
        return None
    return "".join(str(value) for _, value in t.parts)


def _domain(email: str) -> str:
    return email.rpartition("@")[2] or "localhost"


def _alternatives(c: CampaignScheduled) -> tuple[str, str]:
    """HTML and text sources; the missing one is derived from the other."""
    if c.html_body and c.text_body:
        return c.html_body, c.text_body
    if c.html_body:
        return c.html_body, template.text_from_html(c.html_body)
    text = c.text_body or ""
    return template.html_from_text(text), text


def _sender_headers(c: CampaignScheduled) -> bytes:
    """Sent on behalf: the operator is the Sender, replies go to the author (From)."""
    if c.sender_mode not in ON_BEHALF:
        return b""
    operator = mime.mailbox(c.operator.name, str(c.operator.email))
    reply_to = mime.mailbox(c.sender.name, str(c.sender.email))
    return f"Sender: {operator}\r\nReply-To: {reply_to}\r\n".encode()


def _footer_lines(footer: Footer) -> list[str]:
    return [line for line in (footer.company_name, footer.postal_address) if line]


def _with_text_footer(body: Template, footer: Footer) -> Template:
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


def _with_html_extras(body: Template, footer: Footer, pixel: bool) -> Template:
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
