"""Rendering: merge fields, missing values, Japanese, footer, pixel, links, alternatives."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from typing import Any

import pytest

import testkit.events as support
from contracts import Address, Footer, TrackingSettings
from mailkit.mime import encode_words, header_text, mailbox, smtp_payload
from mailkit.render import CompiledCampaign, RenderConfig
from mailkit.template import html_from_text, text_from_html
from servicekit.tokens import Kind, TokenCodec

CODEC = TokenCodec.from_secret(support.TOKEN_SECRET)
CONFIG = RenderConfig(support.TRACKING, "bounces.example", CODEC)


def render(**campaign: Any) -> tuple[EmailMessage, str, str, Any]:
    recipient_overrides = campaign.pop("recipient", {})
    c = support.campaign(**campaign)
    r = support.recipient(c, "taro@example.org", **recipient_overrides)
    mail = CompiledCampaign(c, CONFIG).render(r, 1_700_000_000)
    assert mail.data.endswith(b"\r\n.\r\n")
    msg = email.message_from_bytes(mail.data[:-3], policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return msg, text, html, mail


def test_merge_fields_fill_subject_and_both_bodies() -> None:
    msg, text, html, _ = render()
    assert str(msg["Subject"]) == "山田様へのご案内"
    assert "山田 太郎 様" in text
    assert "<p>山田 太郎 様</p>" in html


def test_missing_and_none_values_render_empty() -> None:
    msg, text, _, _ = render(
        subject="[{{ company }}] {{ last_name }}様",
        recipient={"merge_values": {"last_name": None}},
    )
    assert str(msg["Subject"]) == "[] 様"
    assert text.startswith(" 様")


def test_values_are_escaped_in_html_and_template_syntax_stays_literal() -> None:
    _, text, html, _ = render(
        html_body="<html><body><p>{{ company }} {% if x %}{{ full_name.upper() }}</p>"
        "</body></html>",
        text_body="{{ company }}",
        recipient={"merge_values": {"company": "<b>A&B</b> {{ email }}"}},
    )
    assert "&lt;b&gt;A&amp;B&lt;/b&gt; {{ email }}" in html
    assert "{% if x %}{{ full_name.upper() }}" in html
    assert text.startswith("<b>A&B</b> {{ email }}")


def test_japanese_headers_are_encoded_words_and_bodies_utf8() -> None:
    msg, _, _, mail = render(
        subject="とても長い件名" * 12, sender=Address(name="営業部 田中", email="t@example.com")
    )
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert str(msg["Subject"]) == "とても長い件名" * 12
    assert str(msg["From"]) == "営業部 田中 <t@example.com>"
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert msg.get_body(("plain",))["Content-Transfer-Encoding"] == "base64"  # type: ignore[index]


def test_footer_with_unsubscribe_company_address_and_contact() -> None:
    _, text, html, _ = render()
    for body in (text, html):
        assert "株式会社サンプル" in body
        assert "東京都千代田区丸の内1-1-1" in body
        assert "03-1234-5678" in body
        assert f"{support.TRACKING}/u/" in body
    (token,) = re.findall(r"/u/([\w-]+)", text)
    assert CODEC.verify(token, Kind.UNSUBSCRIBE).customer_id is not None


def test_a_test_send_carries_no_unsubscribe_token() -> None:
    msg, text, html, _ = render(kind="test")
    assert str(msg["List-Unsubscribe"]) == f"<{support.TRACKING}/u/test-mail>"
    for body in (text, html):
        assert f"{support.TRACKING}/u/test-mail" in body
        assert not re.findall(r"/u/(?!test-mail)[\w-]+", body)


def test_footer_contact_falls_back_to_the_sender_address() -> None:
    _, text, html, _ = render(footer=Footer(company_name="X社", postal_address="大阪"))
    assert "sales@example.com" in text and "sales@example.com" in html


def test_no_footer_when_turned_off() -> None:
    _, text, html, _ = render(footer=Footer(enabled=False, company_name="株式会社サンプル"))
    assert "株式会社サンプル" not in text + html
    assert "/u/" not in text + html


def test_open_pixel_before_body_end_only_when_tracking_opens() -> None:
    _, _, html, _ = render()
    pixel = re.search(
        rf'<img src="{re.escape(support.TRACKING)}/o/([\w-]+)" width="1" height="1" alt="">'
        r"</body>",
        html,
    )
    assert pixel
    assert CODEC.verify(pixel.group(1), Kind.OPEN)
    _, _, html, _ = render(tracking=TrackingSettings(track_opens=False))
    assert "/o/" not in html


def test_links_are_rewritten_with_the_destination_signed() -> None:
    _, text, html, _ = render()
    tracked = re.findall(rf'href="{re.escape(support.TRACKING)}/c/([\w-]+)"', html)
    assert len(tracked) == 1
    assert CODEC.verify(tracked[0], Kind.CLICK).url == "https://shop.example.com/sale?a=1&b=2"
    assert "shop.example.com" not in html
    (in_text,) = re.findall(rf"{re.escape(support.TRACKING)}/c/([\w-]+)", text)
    assert CODEC.verify(in_text, Kind.CLICK).url == "https://shop.example.com/sale?a=1&b=2"


def test_link_with_a_merge_field_signs_the_rendered_url() -> None:
    _, _, html, _ = render(
        html_body='<html><body><a href="https://x.example/p?id={{ attr.code }}">p</a>'
        "</body></html>",
        recipient={"merge_values": {"attr.code": "A1"}},
    )
    (token,) = re.findall(r"/c/([\w-]+)", html)
    assert CODEC.verify(token, Kind.CLICK).url == "https://x.example/p?id=A1"


def test_links_untouched_without_click_tracking() -> None:
    _, text, html, _ = render(tracking=TrackingSettings(track_clicks=False))
    assert 'href="https://shop.example.com/sale?a=1&amp;b=2"' in html
    assert "https://shop.example.com/sale?a=1&b=2" in text
    assert "/c/" not in html + text


def test_only_html_derives_a_text_alternative() -> None:
    _, text, _, _ = render(text_body=None)
    assert "山田 太郎 様" in text
    assert "セール (" + support.TRACKING + "/c/" in text


def test_only_text_derives_an_html_alternative_with_tracked_links() -> None:
    _, _, html, _ = render(html_body=None)
    assert "山田 太郎 様<br>" in html
    assert f'<a href="{support.TRACKING}/c/' in html
    assert "/o/" in html


def test_text_and_html_conversions() -> None:
    assert (
        text_from_html("<p>a &amp; b</p><p><a href='https://x'>go</a></p>")
        == "a & b\ngo (https://x)\n"
    )
    assert "a &lt; b<br>" in html_from_text("a < b\nc")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("", "<a@b.c>"), ("Taro", "Taro <a@b.c>"), ('Doe, "J"', '"Doe, \\"J\\"" <a@b.c>')],
)
def test_mailbox_quoting(name: str, expected: str) -> None:
    assert mailbox(name, "a@b.c") == expected


def test_encoded_words_stay_short_and_decode_back() -> None:
    long = "日本語の件名" * 20
    encoded = encode_words(long)
    assert all(len(word) <= 75 for word in encoded.split("\r\n "))
    msg = email.message_from_string(f"Subject: {encoded}\n\n", policy=email.policy.default)
    assert str(msg["Subject"]) == long
    assert header_text("plain ascii") == "plain ascii"


def test_smtp_payload_dot_stuffs_only_when_needed() -> None:
    assert smtp_payload(b"a\r\n.b\r\n") == b"a\r\n..b\r\n.\r\n"
    assert smtp_payload(b"a\r\nb") == b"a\r\nb\r\n.\r\n"
