"""What hostile-input tests need beside the platform client: the memory of a running
service's process, raw bytes on a socket, and proof that a service still answers."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from testkit.platform import LOCAL, Endpoints

PIDS = Path(__file__).resolve().parents[4] / ".local" / "pids"


def rss_mb(service: str, endpoints: Endpoints = LOCAL) -> float:
    """Resident memory of the running service's process (and, for a supervisor, of its
    largest child)."""
    return max(_status_kb(p, "VmRSS") for p in service_pids(service, endpoints)) / 1024


def peak_rss_mb(service: str, endpoints: Endpoints = LOCAL) -> float:
    """The highest resident memory of the service's process since `reset_peak` (or since
    it started)."""
    return max(_status_kb(p, "VmHWM") for p in service_pids(service, endpoints)) / 1024


def reset_peak(service: str, endpoints: Endpoints = LOCAL) -> None:
    """Starts the peak of `peak_rss_mb` afresh at the current resident memory (Linux
    clear_refs; possible for processes of the same user)."""
    for pid in service_pids(service, endpoints):
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def service_pids(service: str, endpoints: Endpoints = LOCAL) -> list[int]:
    """The processes serving `service`: those listening on the port of its URL, so that a
    copy started on another port (e.g. RECIPIENTS_URL=http://127.0.0.1:18002) is the one
    measured; else the pid file `make up` wrote. Children included."""
    port = urlsplit(endpoints.services()[service]).port
    pids = _listening(port) if port else []
    if not pids:
        pids = [int((PIDS / f"{service}.pid").read_text().strip())]
    return [p for pid in pids for p in (pid, *_children(pid))]


def _listening(port: int) -> list[int]:
    """Pids of the processes listening on the TCP port, as `ss -ltnp` shows them (it shows
    the current user's processes)."""
    try:
        shown = subprocess.run(
            ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({int(pid) for pid in re.findall(r"pid=(\d+)", shown)})


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        found += [int(c) for c in children]
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
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
