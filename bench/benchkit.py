"""What every benchmark script needs: the stack's settings, free ports, Postfix's smtp-sink as
the reference receiver, and peak memory of a process."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_env() -> dict[str, str]:
    """The environment, completed with `.local/env` (written by `make up`)."""
    env = dict(os.environ)
    env_file = ROOT / ".local" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.removeprefix("export ").partition("=")
            if sep and key.strip():
                env.setdefault(key.strip(), value.strip().strip("'\""))
    return env


def start_smtp_sink(port: int, backlog: int = 1000) -> subprocess.Popen[bytes]:
    """Postfix's smtp-sink accepts and discards every message; returns once it listens."""
    sink = subprocess.Popen(
        [shutil.which("smtp-sink") or "/usr/sbin/smtp-sink", "-u", "nobody",
         f"127.0.0.1:{port}", str(backlog)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return sink
        time.sleep(0.05)
    sink.kill()
    raise RuntimeError("smtp-sink did not start")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a running process, in MiB; -1 when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return -1.0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else -1.0


async def drop_schema(database_url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system, every thread) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
