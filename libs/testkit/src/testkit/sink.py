"""The dev SMTP sink's listing, as tests and the demo read it: caught mails, their links,
and what a mail client does with them."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from testkit.platform import LOCAL
from testkit.waiting import until

#: A mail client, so tracking does not flag the hit as automatic (machine hits are never
#: notified). Generic HTTP libraries are not flagged either, but a real UA says what we mean.
MAIL_CLIENT = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"}
SINK = LOCAL.sink


@dataclass(frozen=True)
class Caught:
    """One mail the sink accepted: its listing entry and the parsed message."""

    summary: dict[str, Any]
    mail: EmailMessage

    @property
    def header(self) -> Mapping[str, str]:
        headers: Mapping[str, str] = self.summary["headers"]
        return headers

    def text(self) -> str:
        part = self.mail.get_body(("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.mail.get_body(("html",))
        return part.get_content() if part is not None else ""

    def pixel_url(self) -> str | None:
        found = re.search(r'<img[^>]+src="([^"]+/o/[^"]+)"', self.html())
        return found.group(1) if found else None

    def click_urls(self) -> list[str]:
        return re.findall(r'href="([^"]+/c/[^"]+)"', self.html())

    def unsubscribe_url(self) -> str | None:
        found = re.search(r"<(https?://[^>]+/u/[^>]+)>", str(self.mail["List-Unsubscribe"] or ""))
        return found.group(1) if found else None


async def sink_list(
    *, to: str | None = None, after: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"after": after, "limit": limit}
    if to:
        params["to"] = to
    async with httpx.AsyncClient(base_url=SINK, timeout=120) as http:
        response = await http.get("/messages", params=params)
    response.raise_for_status()
    return list(response.json())


async def sink_raw(message_id: int) -> EmailMessage:
    async with httpx.AsyncClient(base_url=SINK, timeout=30) as http:
        response = await http.get(f"/messages/{message_id}/raw")
    response.raise_for_status()
    mail = email.message_from_bytes(response.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


async def sink_high_water() -> int:
    """The id of the newest caught mail (0 when none): later mail has larger ids, so listing
    `after` it skips everything caught before. Found by probing, not by listing it all."""

    async def exists_after(n: int) -> bool:
        return bool(await sink_list(after=n, limit=1))

    low, high = 0, 1024
    while await exists_after(high):
        low, high = high, high * 2
    while high - low > 1:  # the answer is in (low, high]: mail after low, none after high
        middle = (low + high) // 2
        if await exists_after(middle):
            low = middle
        else:
            high = middle
    return high if await exists_after(low) else low


async def mail_to(address: str, *, campaign_id: str | None = None) -> list[Caught]:
    """Every mail caught for `address` (of one campaign when given), oldest first."""
    caught = []
    for summary in await sink_list(to=address):
        if campaign_id and summary["headers"].get("X-Campaign-ID") != campaign_id:
            continue
        caught.append(Caught(summary, await sink_raw(summary["id"])))
    return caught


async def wait_for_mail(
    address: str, *, campaign_id: str | None = None, count: int = 1, within: float = 30
) -> list[Caught]:
    return await until(
        lambda: mail_to(address, campaign_id=campaign_id),
        lambda found: len(found) >= count,
        within=within,
        what=f"{count} mail(s) to {address}"
        + (f" of campaign {campaign_id}" if campaign_id else ""),
    )


async def campaign_mail(
    campaign_id: str, *, after: int, page: int = 20_000
) -> list[dict[str, Any]]:
    """Listing entries of every caught mail of a campaign with an id after `after`."""
    found: list[dict[str, Any]] = []
    while batch := await sink_list(after=after, limit=page):
        found += [m for m in batch if m["headers"].get("X-Campaign-ID") == campaign_id]
        after = batch[-1]["id"]
    return found


async def first_campaign_mail(campaign_id: str, *, after: int, within: float) -> dict[str, Any]:
    """The listing entry of the first mail of a campaign caught after `after`, as soon as it
    is there; mail of others (tests, demos) caught meanwhile is skipped, not rescanned."""
    deadline = time.monotonic() + within
    while True:
        batch = await sink_list(after=after, limit=1000)
        for summary in batch:
            if summary["headers"].get("X-Campaign-ID") == campaign_id:
                return summary
        if batch:
            after = batch[-1]["id"]
        elif time.monotonic() > deadline:
            raise AssertionError(f"no mail of campaign {campaign_id} within {within:.0f}s")
        else:
            await asyncio.sleep(0.1)


async def follow(url: str, *, method: str = "GET", **kwargs: Any) -> httpx.Response:
    """What a mail client does with a link of a caught mail."""
    async with httpx.AsyncClient(timeout=30, headers=MAIL_CLIENT) as http:
        return await http.request(method, url, follow_redirects=False, **kwargs)


async def one_click_unsubscribe(url: str) -> httpx.Response:
    """RFC 8058: what a mailbox provider POSTs to the List-Unsubscribe URL."""
    return await follow(
        url,
        method="POST",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
