"""What every service with an outbox stands on: its database, its Kafka bus, and the relay
that publishes the outbox from the one to the other.

A service's `Ports` extend `Backbone` with ports of their own, so routes, loops and health
checks find `ports.database`, `ports.bus` and `ports.relay` in every service; `bootstrap`
opens the three with `backbone` and adds the rest with `Backbone.extend`, and tests pass
fakes for the three like for any other port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from servicekit import outbox
from servicekit.db import Database, database
from servicekit.kafka import Bus, kafka_bus
from servicekit.outbox import Relay
from servicekit.settings import ServiceSettings

P = ParamSpec("P")
T = TypeVar("T")


@asynccontextmanager
async def backbone(
    settings: ServiceSettings,
    *,
    service: str,
    schema: str,
    migrations: Path,
    max_size: int = 10,
) -> AsyncIterator[Backbone]:
    """The service's schema migrated (its own migrations and the outbox table) with a pool
    of up to `max_size` connections on it, then its bus, for as long as the block runs."""
    async with (
        database(
            settings.database_url, schema, migrations, library=outbox.MIGRATIONS, max_size=max_size
        ) as db,
        kafka_bus(settings, service=service) as bus,
    ):
        yield Backbone(db, bus, outbox.OutboxRelay(db.pool, bus))


@dataclass(frozen=True)
class Backbone:
    database: Database
    bus: Bus
    relay: Relay

    def extend(
        self,
        ports: Callable[Concatenate[Database, Bus, Relay, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """A subclass's ports on this backbone: `core.extend(Ports, store=..., clock=...)`
        (a dataclass subclass takes the three inherited fields first)."""
        return ports(self.database, self.bus, self.relay, *args, **kwargs)
