"""A sending domain's records in the local DNS server (unbound of deploy/local), as a tenant
would publish them at its DNS provider.

python tools/zone.py publish --domain D --records-from-api [--api-key K] [--verify]
python tools/zone.py publish --records-file records.json    [{type, name, value}, ...]
python tools/zone.py withdraw --domain D --records-from-api | --name N [--name N ...]

The API key (an admin's; `--api-key` or BULKMAIL_API_KEY) reads the domain's records from
the composer (COMPOSER_URL); the server is DNS_CONTROL (host:port of its control port).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from testkit import dns
from testkit.platform import LOCAL, Api


async def domain_from_api(api: Api, name: str) -> dict[str, Any]:
    for domain in await api.call("GET", "/v1/sending-domains"):
        if domain["domain"] == name.lower().rstrip("."):
            return dict(domain)
    raise SystemExit(f"{name} is not a sending domain of the key's tenant")


async def run(args: argparse.Namespace) -> str:
    api = Api(args.composer, args.api_key or "")
    domain: dict[str, Any] | None = None
    if args.records_from_api:
        if not (args.domain and args.api_key):
            raise SystemExit("--records-from-api needs --domain and an admin's --api-key")
        domain = await domain_from_api(api, args.domain)
        records = domain["records"]
    elif args.records_file:
        records = json.loads(Path(args.records_file).read_text())
    else:
        records = [{"name": n} for n in args.name]
    if not records:
        raise SystemExit("no records given")
    if args.command == "withdraw":
        names = sorted({r["name"] for r in records})
        await dns.withdraw(names, args.control)
        return f"dns: withdrew every record at {', '.join(names)}"
    count = await dns.publish(records, args.control)
    line = f"dns: published {count} records"
    if args.verify and domain is not None:
        checked = await api.call("POST", f"/v1/sending-domains/{domain['id']}/verify")
        line += f"; {checked['domain']} is {checked['status']}"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["publish", "withdraw"])
    parser.add_argument("--domain", help="the sending domain (with --records-from-api)")
    parser.add_argument("--records-from-api", action="store_true")
    parser.add_argument("--records-file", help="JSON list of records as the API shows them")
    parser.add_argument("--name", action="append", default=[], help="owner name (withdraw)")
    parser.add_argument("--verify", action="store_true", help="have the composer check them")
    parser.add_argument("--api-key", default=os.environ.get("BULKMAIL_API_KEY"))
    parser.add_argument("--composer", default=LOCAL.composer)
    parser.add_argument("--control", default=dns.control_address())
    print(asyncio.run(run(parser.parse_args(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
