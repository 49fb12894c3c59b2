"""What the sink saw: per recipient domain outcomes and how many sessions ran at once.

A session counts towards a domain while its current transaction has a recipient there, from
that RCPT until the transaction ends (end of DATA, RSET, HELO/EHLO or disconnect). Counting
whole connections instead would charge a client that reuses one connection for several
domains, as through a relay, with every domain it ever touched; per transaction, a peak
above a client's per destination limit is always a real breach.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False, slots=True)
class DomainStats:
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    sessions: int = 0
    peak_sessions: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "refused": dict(sorted(self.refused.items())),
            "sessions": self.sessions,
            "peak_sessions": self.peak_sessions,
        }


class SinkStats:
    def __init__(self) -> None:
        self.domains: dict[str, DomainStats] = {}
        self.sessions = 0
        self.peak_sessions = 0

    def open_connection(self) -> ConnectionStats:
        self.sessions += 1
        self.peak_sessions = max(self.peak_sessions, self.sessions)
        return ConnectionStats(self)

    def reset(self) -> None:
        """Zero the counts; peaks restart from what is open now, which stays counted."""
        self.peak_sessions = self.sessions
        self.domains = {name: stats for name, stats in self.domains.items() if stats.sessions}
        for stats in self.domains.values():
            stats.accepted = 0
            stats.refused.clear()
            stats.peak_sessions = stats.sessions

    def as_json(self) -> dict[str, Any]:
        return {
            "sessions": {"open": self.sessions, "peak": self.peak_sessions},
            "domains": {name: stats.as_json() for name, stats in sorted(self.domains.items())},
        }


class ConnectionStats:
    """One SMTP connection's part in the figures, with the domains of its open transaction."""

    __slots__ = ("_accepted", "_closed", "_open", "_sink")

    def __init__(self, sink: SinkStats) -> None:
        self._sink = sink
        self._open: list[DomainStats] = []
        self._accepted: list[DomainStats] = []
        self._closed = False

    def rcpt(self, domain: str, refusal: str | None) -> None:
        # On every RCPT: plain lookups and comparisons, no helper calls.
        domains = self._sink.domains
        stats = domains.get(domain)
        if stats is None:
            stats = domains[domain] = DomainStats()
        if stats not in self._open:
            self._open.append(stats)
            stats.sessions += 1
            if stats.sessions > stats.peak_sessions:
                stats.peak_sessions = stats.sessions
        if refusal is None:
            self._accepted.append(stats)
        else:
            stats.refused[refusal[:3]] += 1

    def delivered(self) -> None:
        """The transaction's message was stored: its accepted recipients count."""
        for stats in self._accepted:
            stats.accepted += 1
        self._accepted.clear()

    def end_transaction(self) -> None:
        if self._open:
            for stats in self._open:
                stats.sessions -= 1
            self._open.clear()
            self._accepted.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.end_transaction()
        self._sink.sessions -= 1
