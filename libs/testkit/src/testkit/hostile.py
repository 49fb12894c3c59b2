"""What hostile-input tests need beside the platform client: the memory of a running
service's process, raw bytes on a socket, and proof that a service still answers."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from testkit.platform import LOCAL, Endpoints

PIDS = Path(__file__).resolve().parents[4] / ".local" / "pids"


def rss_mb(service: str) -> float:
    """Resident memory of the running service's process (and, for a supervisor, of its
    largest child), from the pid file `make up` wrote."""
    pid = int((PIDS / f"{service}.pid").read_text().strip())
    pids = [pid, *_children(pid)]
    return max(_rss_kb(p) for p in pids) / 1024


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        found += [int(c) for c in children]
    return found


def _rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


async def still_serving(service: str, endpoints: Endpoints = LOCAL) -> None:
    """The service answers its health check (after whatever was thrown at it)."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{endpoints.services()[service]}/healthz")
    assert response.status_code == 200, f"{service} stopped answering: {response.status_code}"


async def raw(host: str, port: int, data: bytes, *, read: int = 65536, within: float = 10) -> bytes:
    """Writes `data` on a fresh connection and returns what comes back before it closes."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        chunks = []
        while True:
            chunk = await asyncio.wait_for(reader.read(read), within)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        writer.close()
