"""Pure tracking rules: which hits are machines, where a click may go, what a bounce is.

Machine rules (the `machine` flag of `Opened` and `Clicked`; `machine_reason` names the rule
that matched first, in this order):

1. `image_proxy:<provider>` (opens only): the pixel was fetched by a mailbox provider's
   image proxy or privacy prefetcher, not by the person's own mail client. Matched on the
   User-Agent: Google's image proxy (`GoogleImageProxy`, `ggpht.com`), Yahoo's
   (`YahooMailProxy`), Apple Mail Privacy Protection (whose prefetcher sends the bare
   `Mozilla/5.0` and nothing else).
2. `scanner:<name>` (opens and clicks): a security gateway, link checker, preview bot or
   headless browser recognised by its User-Agent: Barracuda, Mimecast, Proofpoint,
   Symantec/MessageLabs, Trend Micro, Forcepoint, Cisco IronPort, Zscaler, Sophos,
   Fortinet, Palo Alto, Check Point, Avanan, Bitdefender, Kaspersky, urlscan, VirusTotal,
   Microsoft Office link discovery and Bing/Skype previews, headless Chrome, PhantomJS,
   and anything calling itself a bot, crawler or spider.
3. `no_user_agent` (opens and clicks): no User-Agent at all; every mail client and browser
   sends one.
4. `fast_click` (clicks only): the click came less than `click_machine_seconds` (setting,
   default 10 s) after the message was sent (the token's `issued_at`); people do not open,
   read and click that fast, gateways that follow every link on arrival do.

Generic HTTP libraries (curl, python-requests, httpx) are not flagged: they are as likely to
be an operator checking a link as a machine, and a flag that is wrong is worse than none.
The flag never drops an event; consumers decide what to do with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

#: nginx's `empty_gif`: a transparent 1x1 GIF of 43 bytes.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x01\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

_IMAGE_PROXIES: tuple[tuple[str, str], ...] = (
    ("googleimageproxy", "google"),
    ("ggpht.com", "google"),
    ("yahoomailproxy", "yahoo"),
)

_SCANNERS: tuple[tuple[str, str], ...] = (
    ("barracuda", "barracuda"),
    ("mimecast", "mimecast"),
    ("proofpoint", "proofpoint"),
    ("symantec", "symantec"),
    ("messagelabs", "symantec"),
    ("trendmicro", "trendmicro"),
    ("trend micro", "trendmicro"),
    ("forcepoint", "forcepoint"),
    ("ironport", "cisco"),
    ("zscaler", "zscaler"),
    ("sophos", "sophos"),
    ("fortinet", "fortinet"),
    ("fortiguard", "fortinet"),
    ("paloalto", "paloalto"),
    ("checkpoint", "checkpoint"),
    ("avanan", "avanan"),
    ("bitdefender", "bitdefender"),
    ("kaspersky", "kaspersky"),
    ("urlscan", "urlscan"),
    ("virustotal", "virustotal"),
    ("microsoft office existence discovery", "microsoft"),
    ("bingpreview", "microsoft"),
    ("skypeuripreview", "microsoft"),
    ("headlesschrome", "headless"),
    ("phantomjs", "headless"),
)

#: Self-declared robots ("Googlebot/2.1", "Slackbot-LinkExpanding", "AhrefsCrawler"), but
#: not the "CUBOT" phone brand that Android browsers name.
_GENERIC_BOT = re.compile(r"(?<!cu)bot\b|crawler|spider")

#: Apple Mail Privacy Protection prefetches with exactly this User-Agent.
_APPLE_PREFETCH_UA = "mozilla/5.0"


@dataclass(frozen=True, slots=True)
class MachineRules:
    click_machine_seconds: float = 10.0


@lru_cache(maxsize=4096)
def _user_agent_reason(user_agent: str, is_open: bool) -> str | None:
    # User-Agents repeat a lot (a few browsers, a few proxies), hence the cache.
    ua = user_agent.strip().lower()
    if not ua:
        return "no_user_agent"
    if is_open:
        if ua == _APPLE_PREFETCH_UA:
            return "image_proxy:apple"
        for needle, provider in _IMAGE_PROXIES:
            if needle in ua:
                return f"image_proxy:{provider}"
    for needle, name in _SCANNERS:
        if needle in ua:
            return f"scanner:{name}"
    if _GENERIC_BOT.search(ua):
        return "scanner:bot"
    return None


def open_machine_reason(user_agent: str) -> str | None:
    """Why an open looks automatic, or None for a person (rules 1-3 of the module doc)."""
    return _user_agent_reason(user_agent, True)


def click_machine_reason(
    user_agent: str, *, sent_at: int, now: float, rules: MachineRules
) -> str | None:
    """Why a click looks automatic, or None for a person (rules 2-4 of the module doc)."""
    reason = _user_agent_reason(user_agent, False)
    if reason is None and now - sent_at < rules.click_machine_seconds:
        return "fast_click"
    return reason


# ------------------------------------------------------------------ click destinations

_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@lru_cache(maxsize=8192)  # a campaign has a few links, clicked by many recipients
def redirect_target(url: str) -> str | None:
    """The Location for a click on `url`, or None when it is not a web address.

    The URL comes from a verified token, so it was in the message; this only makes sure a
    signed `javascript:` or `data:` link, or a header-splitting one, is never served, and
    turns non-ASCII characters into their percent-encoded form for the header.
    """
    if _CONTROL.search(url.strip(" ")) or url != url.strip(" "):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (quote(userinfo, safe=":%") + "@" if userinfo else "") + ascii_host
        netloc += f":{port}" if port is not None else ""
    return urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe="/%:@!$&'()*+,;=~"),
            quote(parts.query, safe="/%:@!$&'()*+,;=?~"),
            quote(parts.fragment, safe="/%:@!$&'()*+,;=?~#"),
        )
    )


# ------------------------------------------------------------------ bounces

_ENHANCED_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")


def enhanced_status(text: str) -> str | None:
    """The RFC 3463 code at the start of a DSN `Status` field, e.g. `5.1.1`."""
    code = text.strip().split(" ", 1)[0].split("(", 1)[0].strip()
    return code if _ENHANCED_STATUS.match(code) else None


def reports_a_problem(action: str) -> bool:
    """`failed` and `delayed` are problems; `delivered`, `relayed`, `expanded` are not."""
    return action.strip().lower() in ("failed", "delayed")
