"""A campaign being composed in the console, kept in the user's session until it is saved:
the composer refuses to store a draft that breaks a rule (no recipients yet, no subject),
while a person fills the screens one after the other. Pure: no I/O."""

from __future__ import annotations

from typing import Any

MAX_GROUPS = 15
TIMINGS = ("none", "hourly", "daily", "weekly", "monthly")
TEXT_FIELDS = ("name", "subject", "html_body", "text_body")
LISTS = ("customer_ids", "include_group_ids", "exclude_group_ids", "excluded_customer_ids")


class LimitReached(Exception):
    """A 16th group: the manual's limit of 15 across "send" and "do not send"."""


def new_work(campaign: dict[str, Any] | None = None) -> dict[str, Any]:
    """A work item: empty, or a copy of a stored draft."""
    content: dict[str, Any] = {
        "name": "",
        "subject": "",
        "html_body": "",
        "text_body": "",
        "recipients": {name: [] for name in LISTS},
        "exclude_missing_merge": False,
        "footer_enabled": True,
        "tracking": {
            "track_opens": True,
            "track_clicks": True,
            "first_open_timing": "daily",
            "reopen_timing": "daily",
            "click_timing": "daily",
        },
        "sender_mode": "self",
        "sender_user_id": None,
        "sender_registered_id": None,
        "send_as_owner": False,
    }
    if campaign:
        for name in content:
            if name in campaign:
                content[name] = campaign[name]
        for name in ("html_body", "text_body"):
            content[name] = content[name] or ""
    return {"campaign_id": campaign["id"] if campaign else None, "content": content, "labels": {}}


def group_count(content: dict[str, Any]) -> int:
    spec = content["recipients"]
    return len(set(spec["include_group_ids"]) | set(spec["exclude_group_ids"]))


def choose(work: dict[str, Any], operation: str, item_id: str, label: str = "") -> None:
    """One click of the recipient screen: 送信 / 送信しない / 解除 of a group or customer."""
    spec = work["content"]["recipients"]
    kind, _, verb = operation.partition(":")
    if kind == "group":
        lists = ("include_group_ids", "exclude_group_ids")
        target = {"include": "include_group_ids", "exclude": "exclude_group_ids"}.get(verb)
        already = item_id in spec["include_group_ids"] or item_id in spec["exclude_group_ids"]
        if target and not already and group_count(work["content"]) >= MAX_GROUPS:
            raise LimitReached()
    elif kind == "customer":
        lists = ("customer_ids", "excluded_customer_ids")
        target = {"include": "customer_ids", "exclude": "excluded_customer_ids"}.get(verb)
    else:
        raise ValueError(operation)
    for name in lists:
        spec[name] = [i for i in spec[name] if i != item_id]
    if target:
        spec[target].append(item_id)
        if label:
            work["labels"][item_id] = label


def take_form(content: dict[str, Any], form: dict[str, str]) -> None:
    """The compose screen's fields (unchecked boxes are absent from a submitted form)."""
    for name in TEXT_FIELDS:
        content[name] = form.get(name, "")
    content["exclude_missing_merge"] = form.get("exclude_missing_merge") == "on"
    content["footer_enabled"] = form.get("footer_enabled") == "on"
    tracking = content["tracking"]
    tracking["track_opens"] = form.get("track_opens") == "on"
    tracking["track_clicks"] = form.get("track_clicks") == "on"
    for name in ("first_open_timing", "reopen_timing", "click_timing"):
        value = form.get(name, "daily")
        tracking[name] = value if value in TIMINGS else "daily"


def take_sender(content: dict[str, Any], choice: str, send_as_owner: bool) -> None:
    """送信者設定: self, `user:<id>` or `registered:<id>` (代理送信), and 担当者."""
    kind, _, chosen = choice.partition(":")
    content["sender_mode"] = {"user": "on_behalf_user", "registered": "on_behalf_registered"}.get(
        kind, "self"
    )
    content["sender_user_id"] = chosen if kind == "user" else None
    content["sender_registered_id"] = chosen if kind == "registered" else None
    content["send_as_owner"] = send_as_owner


def sender_choice(content: dict[str, Any]) -> str:
    if content["sender_mode"] == "on_behalf_user":
        return f"user:{content['sender_user_id']}"
    if content["sender_mode"] == "on_behalf_registered":
        return f"registered:{content['sender_registered_id']}"
    return "self"


def for_api(content: dict[str, Any]) -> dict[str, Any]:
    """The content as the composer takes it: empty bodies are no bodies."""
    body = dict(content)
    for name in ("html_body", "text_body"):
        body[name] = body[name] or None
    return body


# The composer names a problem of the bodies "body"; the screen shows it by the HTML body.
FIELD_OF = {"body": "html_body", "recipients.customer_ids": "recipients"}
