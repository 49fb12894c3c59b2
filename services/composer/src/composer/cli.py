"""Operator commands.

python -m composer                 run the service (same as `serve`)
python -m composer bootstrap ...   create a tenant, its first admin and that admin's API key
python -m composer set-password --email ADDRESS [--tenant-id ID] < password
                                   set a user's sign-in password, read from standard input
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from composer import accounts, auth
from composer.adapters.argon2 import Argon2Hasher
from composer.adapters.logins import PostgresLogins
from composer.adapters.postgres import PostgresStore
from composer.bootstrap import MIGRATIONS, sending_tools
from composer.settings import Settings
from servicekit import outbox
from servicekit.db import Database, database
from servicekit.errors import DomainError, Invalid


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m composer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the HTTP API, consumers and scheduler")
    boot = commands.add_parser("bootstrap", help="create a tenant with an admin and a key")
    boot.add_argument("--company", required=True, help="company name for the legal footer")
    boot.add_argument("--address", required=True, help="postal address for the legal footer")
    boot.add_argument("--contact", default="", help="contact (phone or address)")
    boot.add_argument("--time-zone", default="Asia/Tokyo", help="IANA time zone")
    boot.add_argument("--admin-name", required=True)
    boot.add_argument("--admin-email", required=True)
    boot.add_argument("--admin-signature", default="")
    password = commands.add_parser(
        "set-password", help="set a user's password for signing in (read from stdin)"
    )
    password.add_argument("--email", required=True, help="the user's address")
    password.add_argument(
        "--tenant-id", type=UUID, default=None, help="needed when the address is in several"
    )
    return parser.parse_args(argv)


@asynccontextmanager
async def migrated(settings: Settings) -> AsyncIterator[Database]:
    async with database(
        settings.database_url,
        settings.database_schema,
        MIGRATIONS,
        library=outbox.MIGRATIONS,
        min_size=1,
    ) as db:
        yield db


async def bootstrap(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    async with migrated(settings) as db:
        tenant, user, key = await accounts.bootstrap(
            accounts.TenantInput(
                company_name=args.company,
                postal_address=args.address,
                contact=args.contact,
                time_zone=args.time_zone,
            ),
            accounts.UserInput(
                name=args.admin_name,
                email=args.admin_email,
                signature=args.admin_signature,
                role="admin",
            ),
            store=PostgresStore(db.pool),
            vault=sending_tools(settings).vault,
        )
    return {
        "tenant_id": str(tenant.id),
        "user_id": str(user.id),
        "key_id": key.key_id,
        "api_key": key.api_key,
    }


async def set_password(
    args: argparse.Namespace, settings: Settings, password: str
) -> dict[str, str]:
    async with migrated(settings) as db:
        user = await auth.set_password(
            args.email,
            password,
            args.tenant_id,
            logins=PostgresLogins(db.pool),
            hasher=Argon2Hasher(),
        )
    return {"tenant_id": str(user.tenant_id), "user_id": str(user.id), "email": user.email}


def read_password() -> str:
    """The first line of standard input, without its line end (a password may hold spaces)."""
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    settings = Settings()
    if args.command in (None, "serve"):
        from composer.main import create_app
        from servicekit.http import serve

        serve(create_app(settings), settings)
        return 0
    if args.command == "set-password":
        try:
            print(json.dumps(asyncio.run(set_password(args, settings, read_password()))))
        except DomainError as exc:
            print(f"set-password refused: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        print(json.dumps(asyncio.run(bootstrap(args, settings))))
    except Invalid as exc:
        print(f"bootstrap refused: {exc}", file=sys.stderr)
        return 2
    return 0
