"""Which recipients the sink refuses (SPEC §8 "dev sink behaviour")."""

from __future__ import annotations

from collections import Counter

BOUNCE_PREFIX = "bounce"
DEFER_PREFIX = "defer"
DEFERRALS_BEFORE_ACCEPT = 2


class RecipientPolicy:
    """`bounce*` is refused for good; `defer*` is refused twice per address, then accepted."""

    def __init__(self) -> None:
        self._attempts: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter(bounce=0, defer=0)

    def refusal(self, address: str) -> str | None:
        """The SMTP reply refusing `address`, or None when it is accepted."""
        local_part = address.rpartition("@")[0].lower() if "@" in address else address.lower()
        if local_part.startswith(BOUNCE_PREFIX):
            self.rejected["bounce"] += 1
            return f"550 5.1.1 <{address}>: user unknown"
        if local_part.startswith(DEFER_PREFIX):
            key = address.lower()
            self._attempts[key] += 1
            if self._attempts[key] <= DEFERRALS_BEFORE_ACCEPT:
                self.rejected["defer"] += 1
                return "451 4.7.1 try again later"
        return None

    def reset(self) -> None:
        self._attempts.clear()
        self.rejected = Counter(bounce=0, defer=0)
