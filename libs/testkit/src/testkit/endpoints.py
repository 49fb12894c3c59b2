"""Where the services are, and one request to a service of several instances.

Endpoints come from the environment (`COMPOSER_URL`, `RECIPIENTS_URL`, ... with the local
stack's ports as defaults); a private copy of the services passes its own `Endpoints`.
`Endpoints.every_instance()` names every instance of each service (`COMPOSER_URLS`, ...,
as `make up` writes them for `SCALE=2`): requests then go round-robin, and on to the next
instance when one refuses the connection, as behind a load balancer.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from servicekit.peers import peer_client


@dataclass(frozen=True)
class Endpoints:
    composer: str = os.environ.get("COMPOSER_URL", "http://127.0.0.1:8001")
    recipients: str = os.environ.get("RECIPIENTS_URL", "http://127.0.0.1:8002")
    delivery: str = os.environ.get("DELIVERY_URL", "http://127.0.0.1:8003")
    tracking: str = os.environ.get("TRACKING_BASE_URL", "http://127.0.0.1:8004")
    notifier: str = os.environ.get("NOTIFIER_URL", "http://127.0.0.1:8005")
    sink: str = os.environ.get("SINK_API_URL", "http://127.0.0.1:8025")
    console: str = os.environ.get("CONSOLE_URL", "http://127.0.0.1:8000").rstrip("/")

    def services(self) -> dict[str, str]:
        return {
            "composer": self.composer,
            "recipients": self.recipients,
            "delivery": self.delivery,
            "tracking": self.tracking,
            "notifier": self.notifier,
        }

    @classmethod
    def every_instance(cls) -> Endpoints:
        """Each service as the comma-separated list of its instances' URLs."""
        one = cls()
        return cls(
            **{
                name: os.environ.get(f"{name.upper()}_URLS") or url
                for name, url in one.services().items()
            },
            sink=one.sink,
        )


LOCAL = Endpoints()

_turns = itertools.count()


def instances(urls: str) -> list[str]:
    """The URLs of a service given as one URL or several, comma-separated."""
    return [u.strip().rstrip("/") for u in urls.split(",") if u.strip()]


async def request(
    urls: str, method: str, path: str, *, seconds: float = 120, **kwargs: Any
) -> httpx.Response:
    """One request to a service: to the next of its instances in turn, and to the one after
    when an instance refuses the connection (servicekit.peers, as the services call each
    other); the last refusal is raised when none answers."""
    async with peer_client(urls, timeout=seconds, turns=_turns) as http:
        return await http.request(method, path, **kwargs)


async def down(names: Iterable[str] = (), endpoints: Endpoints = LOCAL) -> list[str]:
    """The services (all when none is named) that do not answer their health check."""
    services = endpoints.services()
    failing = []
    async with httpx.AsyncClient(timeout=5) as http:
        for name in names or tuple(services):
            for url in instances(services[name]):
                try:
                    (await http.get(f"{url}/healthz")).raise_for_status()
                except httpx.HTTPError as exc:
                    failing.append(f"{name} ({url}: {exc!r})")
    return failing


class HttpError(AssertionError):
    def __init__(self, response: httpx.Response) -> None:
        request = response.request
        super().__init__(
            f"{request.method} {request.url} -> {response.status_code}: {response.text[:1000]}"
        )
        self.response = response
