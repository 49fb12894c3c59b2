"""Which recipients the sink refuses, and with which reply (SPEC §8 "dev sink behaviour").

The local part's prefix picks a mailbox provider's answer; README.md lists them. A per
domain rate limit comes first, as at a provider, whose throttle answers before it looks
at the mailbox.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from devsink.ratelimit import DomainRateLimits
from devsink.settings import PolicySettings

BOUNCE_PREFIX = "bounce"
DEFER_PREFIX = "defer"
BLOCK_PREFIX = "block"
FULL_PREFIX = "full"
GREY_PREFIX = "grey"
SLOW_PREFIX = "slow"
DEFERRALS_BEFORE_ACCEPT = 2
# One C-level startswith lets the ordinary recipient skip every rule at once.
_REFUSING_PREFIXES = (BOUNCE_PREFIX, DEFER_PREFIX, BLOCK_PREFIX, FULL_PREFIX, GREY_PREFIX)

DEFER_REPLY = "451 4.7.1 try again later"
BLOCK_REPLY = "554 5.7.1 Message rejected due to policy"
RATE_LIMITED_REPLY = "421 4.7.0 Try again later, rate limited"
REFUSAL_KINDS = ("bounce", "defer", "block", "full", "grey", "rate_limited")


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain), lower-cased; an address without `@` is all local part."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address.lower(), ""
    return local.lower(), domain.lower()


class RecipientPolicy:
    def __init__(
        self,
        settings: PolicySettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings or PolicySettings()
        self._clock = clock
        self._rates = DomainRateLimits(self._settings.rate_limits)
        self._attempts: Counter[str] = Counter()
        self._first_seen: dict[str, float] = {}
        self.rejected: Counter[str] = Counter(dict.fromkeys(REFUSAL_KINDS, 0))

    @property
    def settings(self) -> PolicySettings:
        return self._settings

    @settings.setter
    def settings(self, settings: PolicySettings) -> None:
        self._settings = settings
        self._rates.configure(settings.rate_limits)

    def refusal(self, address: str) -> str | None:
        """The SMTP reply refusing `address`, or None when it is accepted."""
        local, domain = split_address(address)
        return self.judge(local, domain, address)

    def judge(self, local: str, domain: str, address: str) -> str | None:
        """`refusal` for an address the caller has already split."""
        window = self._rates.window(domain)
        if window is None:
            if local.startswith(_REFUSING_PREFIXES):
                return self._mailbox_refusal(local, address)
            return None
        now = self._clock()
        if window.full(now):
            self.rejected["rate_limited"] += 1
            return RATE_LIMITED_REPLY
        refusal = None
        if local.startswith(_REFUSING_PREFIXES):
            refusal = self._mailbox_refusal(local, address)
        if refusal is None:
            # Only accepted recipients count, as a provider meters what it takes in.
            window.record(now)
        return refusal

    def reset(self) -> None:
        """Forget every address's history and the counts; the settings stay."""
        self._attempts.clear()
        self._first_seen.clear()
        self._rates.clear()
        self.rejected = Counter(dict.fromkeys(REFUSAL_KINDS, 0))

    def _mailbox_refusal(self, local: str, address: str) -> str | None:
        if local.startswith(BOUNCE_PREFIX):
            self.rejected["bounce"] += 1
            return f"550 5.1.1 <{address}>: user unknown"
        if local.startswith(DEFER_PREFIX):
            key = address.lower()
            self._attempts[key] += 1
            if self._attempts[key] <= DEFERRALS_BEFORE_ACCEPT:
                self.rejected["defer"] += 1
                return DEFER_REPLY
            return None
        if local.startswith(BLOCK_PREFIX):
            self.rejected["block"] += 1
            return BLOCK_REPLY
        if local.startswith(FULL_PREFIX):
            self.rejected["full"] += 1
            return f"552 5.2.2 <{address}>: mailbox full"
        if self._greylisted(address):
            self.rejected["grey"] += 1
            return f"450 4.7.1 <{address}>: greylisted, try again later"
        return None

    def _greylisted(self, address: str) -> bool:
        # Keyed on the recipient alone, not the classic (client, sender, recipient) triple:
        # VERP gives every message its own return path, so each new message to a greylisted
        # address would start over, and every client of a dev sink is the same loopback host.
        # A recipient that got through stays through, as a greylister whitelists a triple.
        key = address.lower()
        now = self._clock()
        first = self._first_seen.setdefault(key, now)
        return now - first < self._settings.greylist_seconds
