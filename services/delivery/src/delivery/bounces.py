"""What an SMTP reply says about a message, by its enhanced status code (RFC 3463) first
and its text second. Pure: no I/O.

The distinction that matters most is between a bad address (the customer is registered
as bounced and never mailed again) and a refusal of *us* (policy, spam, reputation, a
relay that will not relay): registering customers for the latter would destroy a
tenant's list because of our own reputation, so anything that smells of a block is
`BLOCKED`, never `HARD`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    """How far an SMTP transaction got."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    #: The message was written in full; only the server's final reply was missing.
    END = "end"


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server said (code None: no reply, the connection failed at `stage`)."""

    stage: Stage
    code: int | None
    text: str


_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_status(text: str) -> str | None:
    """RFC 3463 status at the start of a reply text, e.g. `5.1.1`."""
    match = _ENHANCED.match(text)
    return match.group(1) if match else None


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    #: The whole message went out and the reply was lost: it may have been accepted.
    UNKNOWN = "unknown"
    #: Bad mailbox or domain: a hard bounce, the customer is registered.
    HARD = "hard"
    #: Try again later (4xx, mailbox full): retried until the horizon, then a soft bounce.
    TEMPORARY = "temporary"
    #: Refused for policy, spam, reputation or relaying: counted, nobody registered.
    BLOCKED = "blocked"
    #: Our envelope sender or our protocol was refused: our problem, not the recipient's.
    FAILED = "failed"
    #: The destination asks us to slow down (421, a 4xx naming rate or reputation).
    THROTTLED = "throttled"
    #: No usable connection (refused, lost, 421 or 5xx greeting): the route is at fault.
    UNREACHABLE = "unreachable"


#: Markers of a refusal of the sender's reputation or of relaying, strong enough to win
#: over a mailbox code (some servers answer a blocklist hit with 5.1.x).
_STRONG_BLOCK = re.compile(
    r"spamhaus|block ?list|black ?list|dnsbl|\brbl\b|reputation|\bspam\b|"
    r"relay(ing)? (access )?(denied|not permitted)|not permitted to relay|relay not allowed"
)
_BLOCK = re.compile(
    r"polic(y|ies)|blocked|\brejected due to\b|unsolicited|\bdmarc\b|\bspf\b|\bdkim\b|"
    r"authenticat|bulk mail|\babuse\b|denied by|content rejected|not accepted"
)
_BAD_MAILBOX = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|"
    r"doesn'?t exist|mailbox (unavailable|not found)|invalid (recipient|mailbox|address)|"
    r"unknown (recipient|mailbox)|recipient not found|address rejected|no mailbox|"
    r"not a valid mailbox|unrouteable|no such domain|domain not found"
)
_FULL = re.compile(r"mailbox (is )?full|over ?quota|quota exceeded|insufficient (system )?storage")
_THROTTLE = re.compile(
    r"\brate\b|rate[- ]?limit|too many|throttl|reputation|unusual|temporarily deferred|"
    r"slow down|volume|\bts0\d\b"
)

SERVICE_CLOSING = 421


def classify(reply: Reply) -> Verdict:
    code, stage = reply.code, reply.stage
    if code is None:
        return Verdict.UNKNOWN if stage is Stage.END else Verdict.UNREACHABLE
    if 200 <= code < 300:
        return Verdict.ACCEPTED if stage is Stage.END else Verdict.FAILED
    if stage is Stage.CONNECT:
        return Verdict.UNREACHABLE  # the greeting or EHLO refused us: nothing recipient-specific
    text = reply.text.lower()
    if code < 500:
        return _temporary(code, text)
    if stage is Stage.MAIL:
        return Verdict.FAILED
    return _permanent(enhanced_status(reply.text), text, stage)


def _temporary(code: int, text: str) -> Verdict:
    if code == SERVICE_CLOSING or _THROTTLE.search(text):
        return Verdict.THROTTLED
    return Verdict.TEMPORARY


def _permanent(status: str | None, text: str, stage: Stage) -> Verdict:
    if _STRONG_BLOCK.search(text):
        return Verdict.BLOCKED
    by_code = _by_status(status)
    if by_code is not None:
        return by_code
    if _BAD_MAILBOX.search(text):
        return Verdict.HARD
    if _FULL.search(text):
        return Verdict.TEMPORARY
    if _BLOCK.search(text):
        return Verdict.BLOCKED
    # A bare 5xx to RCPT conventionally means "mailbox unavailable"; one to the content is
    # a content or policy decision about us.
    return Verdict.HARD if stage is Stage.RCPT else Verdict.BLOCKED


def _by_status(status: str | None) -> Verdict | None:
    if status is None:
        return None
    _, subject, detail = status.split(".")
    if subject == "1":
        # 5.1.7 and 5.1.8 are about the sender's address, not the recipient's.
        return Verdict.FAILED if detail in ("7", "8") else Verdict.HARD
    if subject == "7" or status == "5.3.4":
        return Verdict.BLOCKED
    if subject in ("2", "3"):
        return Verdict.TEMPORARY
    if subject == "4":
        return Verdict.TEMPORARY if detail == "7" else Verdict.HARD
    if subject in ("5", "6"):
        return Verdict.FAILED
    return None


def refusal_key(reply: Reply) -> str:
    """What makes two refusals "identical" for the storm detector: code and status."""
    return f"{reply.code} {enhanced_status(reply.text) or ''}".strip()
