"""The sink's adjustable policy settings, and the one place that validates them.

The same checks serve the command line, the environment and `PUT /policy`, so a value the
sink accepts at start is accepted at runtime and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_GREYLIST_SECONDS = 300.0
DEFAULT_SLOW_SECONDS = 2.0
# A day: long enough for any test, short enough that a typo does not park a client for ever.
MAX_SECONDS = 86_400.0
MAX_DOMAIN_LENGTH = 253
MAX_RATE = 10_000_000


class InvalidSetting(ValueError):
    pass


@dataclass(frozen=True)
class PolicySettings:
    greylist_seconds: float = DEFAULT_GREYLIST_SECONDS
    slow_seconds: float = DEFAULT_SLOW_SECONDS
    rate_limits: Mapping[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "greylist_seconds": self.greylist_seconds,
            "slow_seconds": self.slow_seconds,
            "rate_limits": dict(sorted(self.rate_limits.items())),
        }

    def updated(self, payload: object) -> PolicySettings:
        """These settings with the fields of a `PUT /policy` body replacing theirs."""
        if not isinstance(payload, dict):
            raise InvalidSetting("the body must be a JSON object")
        unknown = sorted(set(payload) - {"greylist_seconds", "slow_seconds", "rate_limits"})
        if unknown:
            raise InvalidSetting(f"unknown fields: {', '.join(unknown)}")
        greylist = self.greylist_seconds
        slow = self.slow_seconds
        limits = self.rate_limits
        if "greylist_seconds" in payload:
            greylist = seconds(payload["greylist_seconds"], "greylist_seconds")
        if "slow_seconds" in payload:
            slow = seconds(payload["slow_seconds"], "slow_seconds")
        if "rate_limits" in payload:
            limits = rate_limits(payload["rate_limits"])
        return PolicySettings(greylist, slow, limits)


def seconds(value: object, name: str) -> float:
    # bool is an int to Python, but `true` seconds is a mistake in the body, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSetting(f"{name} must be a number of seconds")
    # Written this way round so NaN and infinity, which JSON lets through, fail it too.
    if not 0 <= value <= MAX_SECONDS:
        raise InvalidSetting(f"{name} must be between 0 and {MAX_SECONDS:g}")
    return float(value)


def rate_limits(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        raise InvalidSetting("rate_limits must be an object of domain: messages per second")
    return dict(rate_limit(name, rate) for name, rate in value.items())


def rate_limit(name: object, rate: object) -> tuple[str, int]:
    domain = _domain(name)
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_RATE:
        raise InvalidSetting(
            f"the rate limit of {domain} must be a whole number of messages per second"
            f" between 0 and {MAX_RATE}"
        )
    return domain, rate


def parse_rate_limit(text: str) -> tuple[str, int]:
    """`example.org=50`, as the command line and DEVSINK_RATE_LIMITS write it."""
    name, equals, rate = text.partition("=")
    if not equals:
        raise InvalidSetting(f"expected DOMAIN=MESSAGES_PER_SECOND, got {text!r}")
    try:
        number = int(rate)
    except ValueError:
        raise InvalidSetting(f"{rate!r} is not a whole number of messages per second") from None
    return rate_limit(name, number)


def _domain(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidSetting("a rate limit's domain must be a string")
    domain = name.strip().lower()
    if (
        not domain
        or len(domain) > MAX_DOMAIN_LENGTH
        or "@" in domain
        or any(character.isspace() for character in domain)
    ):
        raise InvalidSetting(f"{name!r} is not a domain name")
    return domain
