"""The local DNS server (unbound) as tests, tools and the demo write it: records go in and
out at run time through unbound's control port (plain TCP on loopback, no certificates).

`DNS_CONTROL` (host:port, in `.local/env`) names the stack's server; `running_unbound`
starts a private one for a test session on free ports and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from testkit.stack import ROOT

DEFAULT_CONTROL = "127.0.0.1:5354"
TTL = 60


class DnsControlError(RuntimeError):
    pass


class ApiClient(Protocol):
    """One user's key on the composer's API (testkit.platform.Api)."""

    async def call(self, method: str, path: str, **kwargs: Any) -> Any: ...


def control_address(env: Mapping[str, str] | None = None) -> str:
    return (env if env is not None else os.environ).get("DNS_CONTROL") or DEFAULT_CONTROL


async def control(command: str, address: str | None = None) -> str:
    """One unbound-control command; its answer, or DnsControlError when it is an error."""
    if "\n" in command:
        raise ValueError("one line per command")
    host, _, port = (address or control_address()).rpartition(":")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 5)
    try:
        writer.write(f"UBCT1 {command}\n".encode())
        await writer.drain()
        answer = (await asyncio.wait_for(reader.read(), 10)).decode()
    finally:
        writer.close()
    if answer.startswith("error"):
        raise DnsControlError(f"unbound-control {command.split()[0]}: {answer.strip()}")
    return answer


async def publish(records: Iterable[Mapping[str, Any]], address: str | None = None) -> int:
    """Adds each record ({type, name, value} as the composer's API shows them); returns
    how many. A record already there is not added twice."""
    count = 0
    for r in records:
        await control(f"local_data {r['name']}. {TTL} IN {r['type']} {r['value']}", address)
        count += 1
    return count


async def withdraw(names: Iterable[str], address: str | None = None) -> None:
    """Removes every record at each name."""
    for name in names:
        await control(f"local_data_remove {name}.", address)


async def verify_sending_domains(
    api: ApiClient, env: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Publishes every record of each of the tenant's sending domains in the DNS server
    (`DNS_CONTROL` of `env`, or of this process) and has the composer verify them."""
    verified = []
    for domain in await api.call("GET", "/v1/sending-domains"):
        await publish(domain["records"], control_address(env))
        checked = await api.call("POST", f"/v1/sending-domains/{domain['id']}/verify")
        if checked["status"] != "verified":
            raise AssertionError(f"{domain['domain']} not verified: {checked['records']}")
        verified.append(dict(checked))
    return verified


# ---------------------------------------------------------------- a private server


@dataclass(frozen=True)
class DnsServer:
    resolver: str  # host:port to query (the composer's DNS_RESOLVER)
    control: str  # host:port of the control channel (DNS_CONTROL)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (DNS answers on both)."""
    while True:
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


#: The local stack's scripts: `dns_write_config` there writes the one unbound configuration,
#: an authoritative-only server (`.` is a static local zone, nothing is asked of others).
STACK_LIB = ROOT / "deploy" / "local" / "lib.sh"


async def write_unbound_config(port: int, control_port: int, directory: Path) -> Path:
    """The stack's unbound configuration for a server on these ports, kept in `directory`."""
    script = (
        'source "$0" && CONF_DIR=$1 DNS_DIR=$1 DNS_PORT=$2 DNS_CONTROL_PORT=$3 dns_write_config'
    )
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", script, str(STACK_LIB), str(directory), str(port), str(control_port),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{STACK_LIB} could not write unbound.conf: {err.decode()}")
    return directory / "unbound.conf"


@asynccontextmanager
async def running_unbound() -> AsyncIterator[DnsServer]:
    binary = shutil.which("unbound") or "/usr/sbin/unbound"
    if not Path(binary).exists():
        raise RuntimeError("unbound is not installed: run deploy/local/install.sh")
    with tempfile.TemporaryDirectory(prefix="unbound-") as tmp:
        directory = Path(tmp)
        port, control_port = free_port(), free_port()
        conf = await write_unbound_config(port, control_port, directory)
        log_path = directory / "unbound.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                binary, "-d", "-c", str(conf), stdout=log, stderr=log
            )
        server = DnsServer(f"127.0.0.1:{port}", f"127.0.0.1:{control_port}")
        try:
            await _until_ready(server, process, log_path)
            yield server
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _until_ready(server: DnsServer, process: asyncio.subprocess.Process, log: Path) -> None:
    for _ in range(100):
        if process.returncode is not None:
            raise RuntimeError(f"unbound exited: {log.read_text()[-2000:]}")
        try:
            await control("status", server.control)
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"unbound did not answer on {server.control}: {log.read_text()[-2000:]}")
