"""A campaign compiled once, then one mail per recipient assembled as bytes.

Per campaign: subject and bodies split into parts (template.py), links found, the footer
and pixel placed (layout.py), constant headers and MIME boundaries encoded, the signers of
its sending domains made, and the body hash of the constant start of every body computed.
Per message: merge values joined in, tokens signed (one per distinct link, plus open and
unsubscribe), bodies base64 encoded, headers concatenated, and — when the From's domain has
keys — the DKIM signature(s) computed over those headers and the body hash fed as the body
was assembled.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from contracts import CampaignScheduled, RecipientResolved
from mailkit import mime, template
from mailkit.layout import ON_BEHALF, alternatives, with_html_extras, with_text_footer
from mailkit.signing import BodyHash, DkimSigner
from mailkit.template import CONTACT, OPEN, UNSUB, Links, Template
from servicekit.tokens import Kind, TokenCodec

CRLF = b"\r\n"
#: What stands in the unsubscribe link of a test send: no token, so the link does nothing.
TEST_MAIL = "test-mail"


@dataclass(frozen=True)
class RenderConfig:
    tracking_base_url: str
    bounce_domain: str
    codec: TokenCodec
    message_id_domain: str = ""


@dataclass(frozen=True, slots=True)
class Mail:
    """One SMTP transaction: envelope and the DATA payload, ready for the wire."""

    mail_from: str
    rcpt: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Preview:
    """What a recipient would see, before MIME encoding and signing."""

    subject: str
    html: str
    text: str
    sender: str
    reply_to: str | None = None
    on_behalf_of: str | None = None  # the Sender header: who sent it for the author


class CompiledCampaign:
    def __init__(
        self,
        campaign: CampaignScheduled,
        config: RenderConfig,
        signers: Mapping[str, DkimSigner] | None = None,
    ) -> None:
        self.campaign = campaign
        self._config = config
        self._signers = dict(signers or {})
        self._base = config.tracking_base_url.rstrip("/")
        self._track_opens = campaign.tracking.track_opens
        # A test send goes to staff, on behalf of a customer: its unsubscribe link must not
        # unsubscribe anyone, so it carries no token.
        self._test = campaign.kind == "test"
        links = Links() if campaign.tracking.track_clicks else None
        html_source, text_source = alternatives(campaign)
        self._html = with_html_extras(
            template.compile_html(html_source, links), campaign.footer, self._track_opens
        )
        self._text = with_text_footer(template.compile_text(text_source, links), campaign.footer)
        self._links = links.destinations if links else []
        self._constant_links = [_constant(d) for d in self._links]
        self._subject = template.split_fields(campaign.subject)
        self._subject_text = _constant(self._subject)
        self._subject_header = (
            None if self._subject_text is None else mime.header_text(self._subject_text).encode()
        )
        self._on_behalf = campaign.sender_mode in ON_BEHALF
        self._operator = mime.mailbox(campaign.operator.name, str(campaign.operator.email))
        self._operator_header = f"Sender: {self._operator}\r\n".encode()
        self._date = mime.DateHeader()
        boundary = f"=_bm_{secrets.token_hex(12)}"
        self._fixed_headers = (
            "MIME-Version: 1.0\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            f"X-Campaign-ID: {campaign.campaign_id}\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
        ).encode()
        self._text_head = (
            f"--{boundary}\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        self._between = (
            f"--{boundary}\r\n"
            'Content-Type: text/html; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        self._end = f"--{boundary}--\r\n".encode()
        self._body_start = BodyHash()
        self._body_start.update(self._text_head)
        self._mailboxes: dict[tuple[str, str], bytes] = {}

    def render(self, r: RecipientResolved, issued_at: int) -> Mail:
        subject_text, text, body_html, unsubscribe = self._contents(r, issued_at)
        subject = self._subject_header or mime.header_text(subject_text).encode()
        headers = b"".join(
            (
                b"From: ",
                self._mailbox(r.sender.name, r.sender.email),
                b"\r\nTo: ",
                mime.mailbox(r.name, r.email).encode(),
                b"\r\n",
                self._behalf_headers(r),
                b"Subject: ",
                subject,
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
                self._fixed_headers,
            )
        )
        text_part, html_part = mime.base64_body(text), mime.base64_body(body_html)
        body = (self._text_head, text_part, self._between, html_part, self._end)
        message = b"".join((self._signature(r, headers, body), headers, CRLF, *body))
        bounce = self._config.codec.sign_bounce(r.tenant_id, r.message_id)
        return Mail(f"{bounce}@{self._config.bounce_domain}", r.email, mime.smtp_payload(message))

    def preview(self, r: RecipientResolved) -> Preview:
        """The message as `r` would read it (links and tokens as the mail would carry)."""
        subject, text, body_html, _ = self._contents(r, 0)
        sender = f"{r.sender.name} <{r.sender.email}>" if r.sender.name else r.sender.email
        return Preview(
            subject=subject,
            html=body_html,
            text=text,
            sender=sender,
            reply_to=sender if self._on_behalf else None,
            on_behalf_of=self._operator if self._on_behalf else None,
        )

    def _contents(self, r: RecipientResolved, issued_at: int) -> tuple[str, str, str, str]:
        """Subject, text, HTML and the unsubscribe URL of one message."""
        codec, base = self._config.codec, self._base
        ids = (
            r.tenant_id.bytes
            + r.campaign_id.bytes
            + r.message_id.bytes
            + r.customer_id.bytes
            + r.notify_user_id.bytes
        )
        if self._test:
            unsubscribe = f"{base}/u/{TEST_MAIL}"
        else:
            unsubscribe = f"{base}/u/{codec.sign_parts(Kind.UNSUBSCRIBE, issued_at, ids)}"
        specials = {UNSUB: unsubscribe, CONTACT: r.sender.email}
        if self._track_opens:
            specials[OPEN] = f"{base}/o/{codec.sign_parts(Kind.OPEN, issued_at, ids)}"
        values = r.merge_values
        urls = self._link_urls(values, ids, issued_at)
        text = template.render(self._text, values, urls, specials, escape=False)
        specials[CONTACT] = html.escape(r.sender.email)
        body_html = template.render(self._html, values, urls, specials, escape=True)
        subject = self._subject_text
        if subject is None:
            subject = template.render(self._subject, values, [], {}, escape=False)
        return subject, text, body_html, unsubscribe

    def _behalf_headers(self, r: RecipientResolved) -> bytes:
        """Sent on behalf: the operator is the Sender; replies go to the author of this very
        message (its From: the owner when it goes out as the customer's owner)."""
        if not self._on_behalf:
            return b""
        author = self._mailbox(r.sender.name, r.sender.email)
        return b"".join((self._operator_header, b"Reply-To: ", author, CRLF))

    def _signature(self, r: RecipientResolved, headers: bytes, body: tuple[bytes, ...]) -> bytes:
        signer = self._signers.get(_domain(r.sender.email).lower())
        if signer is None:
            return b""
        digest = self._body_start.copy()
        for part in body[1:]:
            digest.update(part)
        return signer.sign(headers, digest.digest())

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
