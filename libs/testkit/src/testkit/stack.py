"""The local stack's processes as fault tests handle them: which run, killing one the way a
crash does, running the stack scripts (deploy/local) again, finding a partition's leader,
and reading what the services logged meanwhile.

The stack is the one `STACK_DIR` names (its env file sets it; `.local/` otherwise).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from servicekit.kafka.admin import partition_leaders

ROOT = Path(__file__).resolve().parents[4]
SERVICES = ("composer", "recipients", "delivery", "tracking", "notifier", "console")


def stack_dir() -> Path:
    return Path(os.environ.get("STACK_DIR") or ROOT / ".local")


def kafka_nodes() -> list[str]:
    """The Kafka processes of the stack: "kafka" alone, or "kafka-1" ... "kafka-N"."""
    brokers = int(os.environ.get("KAFKA_BROKERS", "1"))
    return ["kafka"] if brokers == 1 else [f"kafka-{i}" for i in range(1, brokers + 1)]


def node_name(node_id: int) -> str:
    nodes = kafka_nodes()
    return nodes[0] if nodes == ["kafka"] else f"kafka-{node_id}"


def instance_name(service: str, k: int) -> str:
    return service if k == 1 else f"{service}-{k}"


def instances(service: str) -> list[str]:
    """The recorded instances of a service (running or not), instance 1 first."""
    pids = stack_dir() / "pids"
    found = [service] if (pids / f"{service}.pid").exists() else []
    more = sorted(pids.glob(f"{service}-[0-9]*.pid"), key=lambda p: int(p.stem.rsplit("-")[1]))
    return found + [p.stem for p in more]


def as_it_is() -> dict[str, str]:
    """The environment for up.sh to bring back what the stack has: as many instances of
    each service as it recorded."""
    return {f"{s.upper()}_INSTANCES": str(len(instances(s)) or 1) for s in SERVICES}


def _state(pid: int) -> str | None:
    """The process's state letter (Z for a zombie), None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def running(pid: int) -> bool:
    return _state(pid) not in (None, "Z")


def live_pid(name: str) -> int | None:
    """The pid the stack scripts recorded for `name`, if that process runs."""
    try:
        pid = int((stack_dir() / "pids" / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if running(pid) else None


def postmaster_pid() -> int | None:
    """The PostgreSQL server's pid: the stack's own cluster, or the packaged one."""
    if int(os.environ.get("STACK_PORT_OFFSET", "0")):
        pid_file = stack_dir() / "postgres" / "data" / "postmaster.pid"
    else:
        listing = subprocess.run(
            ["pg_lsclusters", "-h"], capture_output=True, text=True, check=True
        ).stdout
        data = next(line.split()[5] for line in listing.splitlines() if line.split()[1] == "main")
        pid_file = Path(data) / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if running(pid) else None


def pid_of(name: str) -> int | None:
    return postmaster_pid() if name == "postgres" else live_pid(name)


async def kill(name: str, *, within: float = 30.0) -> int:
    """SIGKILL to `name`'s process (for PostgreSQL, the postmaster), as a crash; returns
    once the process has died (it may linger as a zombie until its parent reaps it)."""
    pid = pid_of(name)
    if pid is None:
        raise AssertionError(f"{name} is not running")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + within
    while running(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} (pid {pid}) survived SIGKILL for {within:.0f}s")
        await asyncio.sleep(0.05)
    return pid


@dataclass(frozen=True)
class Ran:
    script: str
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


async def script(
    name: str, *args: str, env: Mapping[str, str] | None = None, within: float = 420
) -> Ran:
    """Runs deploy/local/<name> for this stack (the scripts are idempotent and serialised
    by the stack's lock); its output, stdout and stderr together."""
    started = time.monotonic()
    done = await asyncio.to_thread(
        subprocess.run,
        [str(ROOT / "deploy" / "local" / name), *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=within,
        check=False,
    )
    return Ran(name, done.returncode, done.stdout, time.monotonic() - started)


async def leader_of(topic: str, rng: random.Random | None = None) -> str:
    """The Kafka node leading most partitions of `topic` (one of them, when several do)."""
    leaders = Counter(
        node
        for node in (await partition_leaders(os.environ["KAFKA_BOOTSTRAP_SERVERS"], topic)).values()
        if node >= 0
    )
    if not leaders:
        raise AssertionError(f"no partition of {topic} has a leader")
    most = max(leaders.values())
    return node_name((rng or random).choice(sorted(n for n, c in leaders.items() if c == most)))


class LogWindow:
    """What the services' logs got from now on."""

    def __init__(self, names: Iterable[str] | None = None) -> None:
        logs = stack_dir() / "logs"
        wanted = list(names) if names is not None else [n for s in SERVICES for n in instances(s)]
        self._start = {logs / f"{n}.log": _size(logs / f"{n}.log") for n in wanted}

    def lines(self) -> dict[str, list[str]]:
        found = {}
        for path, start in self._start.items():
            try:
                with path.open("rb") as log:
                    log.seek(start if _size(path) >= start else 0)  # a new file: all of it
                    found[path.stem] = log.read().decode(errors="replace").splitlines()
            except OSError:
                found[path.stem] = []
        return found

    def matching(self, *needles: str) -> dict[str, list[str]]:
        """Lines containing any of `needles`, per log."""
        return {
            name: hits
            for name, lines in self.lines().items()
            if (hits := [line for line in lines if any(n in line for n in needles)])
        }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
