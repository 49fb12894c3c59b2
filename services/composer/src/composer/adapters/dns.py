"""The Dns port on dnspython: one resolver address from the settings, no cache (a check
must see what is published now)."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.TXT
import dns.resolver

from composer.sending_domains import DnsUnavailable


def parse_address(address: str) -> tuple[str, int]:
    """`IP:port`, `[IPv6]:port` or a bare IP (port 53)."""
    if address.startswith("["):
        host, _, port = address[1:].partition("]:")
        return host, int(port or 53)
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, int(port)
    return address, 53


class DnsResolver:
    def __init__(self, address: str, timeout: float) -> None:
        if address:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            host, port = parse_address(address)
            self._resolver.nameservers = [host]
            self._resolver.port = port
        else:
            self._resolver = dns.asyncresolver.Resolver()
        self._resolver.lifetime = timeout
        self._resolver.cache = None

    async def txt(self, name: str) -> list[str]:
        return [
            b"".join(r.strings).decode("utf-8", "replace")
            for r in await self._answers(name, "TXT")
            if isinstance(r, dns.rdtypes.ANY.TXT.TXT)
        ]

    async def mx(self, name: str) -> list[str]:
        return [
            r.exchange.to_text(omit_final_dot=True).lower()
            for r in await self._answers(name, "MX")
            if isinstance(r, dns.rdtypes.ANY.MX.MX)
        ]

    async def _answers(self, name: str, rdtype: str) -> list[object]:
        try:
            answer = await self._resolver.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise DnsUnavailable(f"{rdtype} {name}: {exc}") from exc
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(f"{rdtype} {name}: {exc!r}") from exc
        return list(answer)
