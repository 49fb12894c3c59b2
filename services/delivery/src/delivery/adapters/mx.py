"""Routes: through the relay, or straight to a recipient domain's mail exchangers.

Direct delivery resolves MX records with dnspython through a configurable resolver
(DNS_RESOLVER), lowest preference first (equal ones shuffled, as RFC 5321 §5.1 asks),
each exchanger's addresses in turn; a domain without MX is its own exchanger (the
implicit MX). Answers are kept for their TTL. A domain that does not exist, or that
publishes a null MX (RFC 7505), is a permanent answer about the address (a hard
bounce); a resolver that fails is a temporary one about the route.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

import dns.asyncresolver
import dns.exception
import dns.resolver

from delivery.bounces import Reply, Stage
from delivery.ports import Route

#: How long a failed lookup is believed before it is tried again.
FAILURE_TTL = 5.0


class RelayRouter:
    def __init__(self, route: Route) -> None:
        self._route = route

    async def route(self, domain: str) -> Route | Reply:
        return self._route


def resolver_for(nameservers: str, timeout: float = 5.0) -> dns.asyncresolver.Resolver:
    """`host[:port],...` (one port for all; `[v6]:port` for IPv6), or empty for the
    system's resolver."""
    if not nameservers:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        hosts, port = [], 53
        for entry in (e.strip() for e in nameservers.split(",") if e.strip()):
            if entry.startswith("["):
                host, _, rest = entry[1:].partition("]")
                port = int(rest.removeprefix(":") or port)
            elif entry.count(":") == 1:
                host, _, number = entry.partition(":")
                port = int(number)
            else:
                host = entry
            hosts.append(host)
        resolver.nameservers = hosts
        resolver.port = port
    resolver.lifetime = timeout
    return resolver


@dataclass(frozen=True, eq=False)
class MxRouter:
    resolver: dns.asyncresolver.Resolver
    port: int = 25
    _: KW_ONLY
    max_ttl: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, Route | Reply]] = field(default_factory=dict, init=False)

    async def route(self, domain: str) -> Route | Reply:
        now = self.clock()
        cached = self._cache.get(domain)
        if cached is not None and cached[0] > now:
            return cached[1]
        found, ttl = await self._lookup(domain)
        self._cache[domain] = (now + ttl, found)
        return found

    async def _lookup(self, domain: str) -> tuple[Route | Reply, float]:
        try:
            answer = await self.resolver.resolve(domain, "MX")
        except dns.resolver.NXDOMAIN:
            return _no_domain(domain, "the domain does not exist"), FAILURE_TTL * 12
        except dns.resolver.NoAnswer:
            return await self._implicit(domain)
        except dns.exception.DNSException as exc:
            return _lookup_failed(domain, exc), FAILURE_TTL
        records = sorted(answer, key=lambda r: (r.preference, random.random()))
        if len(records) == 1 and str(records[0].exchange) == ".":
            return Reply(Stage.RCPT, 556, f"5.1.10 {domain} accepts no mail (null MX)"), 3600.0
        hosts: list[str] = []
        for record in records:
            hosts += await self._addresses(str(record.exchange).rstrip("."))
        if not hosts:
            return _lookup_failed(domain, "no address for any exchanger"), FAILURE_TTL
        ttl = min(float(answer.rrset.ttl if answer.rrset else 0), self.max_ttl)
        return Route(f"mx {domain}", tuple(hosts), self.port), max(ttl, 1.0)

    async def _implicit(self, domain: str) -> tuple[Route | Reply, float]:
        hosts = await self._addresses(domain)
        if not hosts:
            return _no_domain(domain, "it has no mail exchanger"), FAILURE_TTL * 12
        return Route(f"mx {domain}", tuple(hosts), self.port), 300.0

    async def _addresses(self, host: str) -> list[str]:
        found: list[str] = []
        for kind in ("A", "AAAA"):
            try:
                found += [r.to_text() for r in await self.resolver.resolve(host, kind)]
            except dns.exception.DNSException:
                continue
        return found


def _no_domain(domain: str, why: str) -> Reply:
    return Reply(Stage.RCPT, 550, f"5.1.2 {domain}: {why} (DNS)")


def _lookup_failed(domain: str, exc: object) -> Reply:
    return Reply(Stage.CONNECT, None, f"MX lookup of {domain} failed: {exc}"[:500])
