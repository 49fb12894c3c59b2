"""The unsubscribe pages (Japanese first, English below): a confirmation form and a result.

The confirmation page never unsubscribes by itself: mail security gateways open every link
in a message, so only the form's POST (or an RFC 8058 one-click POST) does.
"""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.6;color:#222}button{font-size:1rem;padding:.5rem 1.5rem}"
    "p.en{color:#555}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def confirm_page(action: str) -> str:
    """The form posts back to `action` (the same unsubscribe URL)."""
    return _page(
        "配信停止 / Unsubscribe",
        "<h1>配信停止 / Unsubscribe</h1>"
        "<p>今後、このアドレスへの一斉メールの配信を停止します。よろしければ下のボタンを"
        "押してください。</p>"
        '<p class="en">You will no longer receive bulk mail from this sender at this '
        "address. Press the button to confirm.</p>"
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="confirm" value="1">'
        '<button type="submit">配信を停止する / Unsubscribe</button></form>',
    )


def done_page() -> str:
    return _page(
        "配信停止しました / Unsubscribed",
        "<h1>配信停止しました / Unsubscribed</h1>"
        "<p>配信停止の手続きが完了しました。今後、一斉メールは届きません。</p>"
        '<p class="en">You have been unsubscribed and will no longer receive bulk mail '
        "from this sender.</p>",
    )
