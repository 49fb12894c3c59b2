"""A service as a process of a test's or a benchmark's own (`python -m <service>`): its
settings as environment variables, a free HTTP port, its output appended to a log file;
it can be killed the way a crash does and started again with the same settings."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from testkit.stack import ROOT


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at this moment)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


class ServiceProcess:
    """`python -m <service>` with `settings` (pydantic-settings names, any case) over the
    environment `base` (this process's by default)."""

    def __init__(
        self,
        service: str,
        settings: Mapping[str, object],
        log: Path,
        base: Mapping[str, str] | None = None,
    ) -> None:
        self.service = service
        self.port = free_port()
        self.env = dict(os.environ if base is None else base)
        self.env.update(HTTP_PORT=str(self.port), LOG_LEVEL="WARNING")
        self.env.update({k.upper(): str(v) for k, v in settings.items()})
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.service], env=self.env, stdout=out, stderr=out,
                cwd=ROOT, start_new_session=True,
            )  # fmt: skip

    def exited(self) -> int | None:
        """The exit status once the process has ended; None while it runs."""
        assert self.process is not None
        return self.process.poll()

    async def wait_healthy(self) -> None:
        """Until `/healthz` answers, for a minute at most; fails with the log's end if the
        process exits first."""
        try:
            async with asyncio.timeout(60), httpx.AsyncClient() as client:
                while not await self._healthy(client):
                    assert self.exited() is None, self.log.read_text()[-2000:]
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError(f"{self.service} not healthy, see {self.log}") from None

    async def _healthy(self, client: httpx.AsyncClient) -> bool:
        try:
            return (await client.get(f"{self.url}/healthz")).is_success
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed or handed over."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
