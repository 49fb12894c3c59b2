"""The traffic-shaping policy, read once from its TOML file (`services/delivery/shaping.toml`
documents every field): which destination a recipient domain belongs to, the limits of a
destination for a tenant, and the tunables of the slow-down, the breakers and the queues."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from uuid import UUID

DEFAULT_FILE = Path(__file__).resolve().parents[3] / "shaping.toml"


class ShapingError(ValueError):
    """The file is not a valid shaping policy; delivery refuses to start with it."""


@dataclass(frozen=True, slots=True)
class Limits:
    connections: int
    per_minute: int
    #: Whose budget this is: the destination's, or one tenant's at that destination.
    scope: str


@dataclass(frozen=True)
class Adaptive:
    decrease: float = 0.5
    hold_seconds: float = 1.0
    recover_seconds: float = 60.0
    min_per_minute: float = 6.0


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int = 5
    open_seconds: float = 30.0
    max_open_seconds: float = 600.0


@dataclass(frozen=True)
class StormPolicy:
    window_seconds: float = 60.0
    min_refusals: int = 10
    ratio: float = 0.5


@dataclass(frozen=True)
class QueuePolicy:
    slot_ttl_seconds: float = 30.0
    park_after_seconds: float = 10.0


@dataclass(frozen=True)
class _Partial:
    connections: int | None = None
    per_minute: int | None = None


@dataclass(frozen=True)
class Shaping:
    default: _Partial = field(default_factory=lambda: _Partial(20, 0))
    destinations: Mapping[str, _Partial] = field(default_factory=dict)
    #: Recipient domain -> destination name (only for grouped domains).
    groups: Mapping[str, str] = field(default_factory=dict)
    tenants: Mapping[UUID, Mapping[str, _Partial]] = field(default_factory=dict)
    adaptive: Adaptive = field(default_factory=Adaptive)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    storm: StormPolicy = field(default_factory=StormPolicy)
    queue: QueuePolicy = field(default_factory=QueuePolicy)

    def destination(self, domain: str) -> str:
        domain = domain.lower().rstrip(".")
        return self.groups.get(domain, domain)

    def limits(self, tenant_id: UUID, destination: str) -> Limits:
        own = self.destinations.get(destination, self.default)
        connections = own.connections or self.default.connections or 1
        per_minute = own.per_minute if own.per_minute is not None else self.default.per_minute
        scope = destination
        tenant = self.tenants.get(tenant_id, {})
        override = tenant.get(destination) or tenant.get("default")
        if override is not None:
            connections = override.connections or connections
            if override.per_minute is not None:
                per_minute = override.per_minute
            scope = f"{tenant_id}/{destination}"
        return Limits(connections, per_minute or 0, scope)


def load(path: Path | str = DEFAULT_FILE) -> Shaping:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ShapingError(f"{path}: {exc}") from exc
    return parse(data, str(path))


def parse(data: Mapping[str, Any], where: str = "shaping") -> Shaping:
    destinations: dict[str, _Partial] = {}
    groups: dict[str, str] = {}
    for name, section in data.get("destinations", {}).items():
        destinations[name] = _limits(section, f"{where}: destinations.{name}")
        for domain in section.get("domains", []):
            taken = groups.setdefault(domain.lower(), name)
            if taken != name:
                raise ShapingError(f"{where}: {domain} is in both {taken} and {name}")
    tenants: dict[UUID, dict[str, _Partial]] = {}
    for tenant, sections in data.get("tenants", {}).items():
        try:
            tenant_id = UUID(tenant)
        except ValueError:
            raise ShapingError(f"{where}: tenants.{tenant} is not a tenant id") from None
        tenants[tenant_id] = {
            name: _limits(section, f"{where}: tenants.{tenant}.{name}")
            for name, section in sections.items()
        }
    default = _limits(data.get("default", {}), f"{where}: default")
    return Shaping(
        default=_Partial(default.connections or 20, default.per_minute or 0),
        destinations=destinations,
        groups=groups,
        tenants=tenants,
        adaptive=_tunables(Adaptive(), data.get("adaptive", {}), f"{where}: adaptive"),
        breaker=_tunables(BreakerPolicy(), data.get("breaker", {}), f"{where}: breaker"),
        storm=_tunables(StormPolicy(), data.get("storm", {}), f"{where}: storm"),
        queue=_tunables(QueuePolicy(), data.get("queue", {}), f"{where}: queue"),
    )


def _limits(section: Mapping[str, Any], where: str) -> _Partial:
    unknown = set(section) - {"connections", "per_minute", "domains"}
    if unknown:
        raise ShapingError(f"{where}: unknown field(s) {sorted(unknown)}")
    connections = section.get("connections")
    per_minute = section.get("per_minute")
    if connections is not None and (not isinstance(connections, int) or connections < 1):
        raise ShapingError(f"{where}: connections must be a whole number >= 1")
    if per_minute is not None and (not isinstance(per_minute, int) or per_minute < 0):
        raise ShapingError(f"{where}: per_minute must be a whole number >= 0")
    return _Partial(connections, per_minute)


def _tunables(defaults: Any, section: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(defaults)}
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in known:
            raise ShapingError(f"{where}: unknown field {key!r}")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ShapingError(f"{where}: {key} must be a number >= 0")
        values[key] = type(getattr(defaults, key))(value)
    return replace(defaults, **values)
