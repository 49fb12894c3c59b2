"""`python -m tracking`: serve tracking on HTTP_PORT with TRACKING_PROCESSES processes.

This process binds the port first (so a port that is taken fails loudly), then starts the
other processes with SO_REUSEPORT on the same port; the kernel spreads connections over
them. Only this process runs the bounce SMTP listener. The others end with it: they get
SIGTERM when it exits, even by SIGKILL (PR_SET_PDEATHSIG), and it restarts one that dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys

import uvloop

from servicekit.http import configure_logging
from tracking.main import create_app
from tracking.server import Front, lifespan, listening_socket, serving
from tracking.settings import Settings

log = logging.getLogger("tracking")

_PR_SET_PDEATHSIG = 1


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    uvloop.run(run(settings))


async def run(settings: Settings) -> None:
    leader = not settings.http_reuse_port
    sock = listening_socket(
        settings.http_host,
        settings.http_port,
        reuse_port=settings.http_reuse_port or settings.tracking_processes > 1,
    )
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    siblings = Siblings(settings, count=settings.tracking_processes - 1 if leader else 0)
    try:
        async with lifespan(app) as state, serving(Front(app, state), sock):
            siblings.start()
            log.info(
                "tracking serving http://%s:%d (%d processes)",
                settings.http_host,
                settings.http_port,
                settings.tracking_processes if leader else 1,
            )
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                if not stop.is_set():
                    siblings.restart_exited()
            log.info("tracking stopping")
            siblings.terminate()
    finally:
        await asyncio.to_thread(siblings.wait)


class Siblings:
    """The other HTTP processes of this tracking instance."""

    def __init__(self, settings: Settings, *, count: int) -> None:
        self._count = count
        self._env = dict(os.environ)
        self._env.update(
            HTTP_HOST=settings.http_host,
            HTTP_PORT=str(settings.http_port),
            HTTP_REUSE_PORT="true",
            BOUNCE_INTAKE="false",
            TRACKING_PROCESSES="1",
        )
        self._instance = settings.instance_id or "tracking"
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self._processes = [self._spawn(k) for k in range(self._count)]

    def restart_exited(self) -> None:
        for k, process in enumerate(self._processes):
            if process.poll() is not None:
                log.warning(
                    "tracking process %d exited (%s); restarting", process.pid, process.returncode
                )
                self._processes[k] = self._spawn(k)

    def terminate(self) -> None:
        for process in self._processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()

    def wait(self) -> None:
        for process in self._processes:
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, k: int) -> subprocess.Popen[bytes]:
        env = {**self._env, "INSTANCE_ID": f"{self._instance}.{k + 2}"}
        return subprocess.Popen(
            [sys.executable, "-m", "tracking"], env=env, preexec_fn=_die_with_parent
        )


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: the kernel sends SIGTERM when we exit.
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


if __name__ == "__main__":
    main()
