"""Waiting for something that happens elsewhere (another service, Kafka, the sink)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = 20.0, interval: float = 0.1
) -> T:
    """Calls `check` until it returns instead of raising AssertionError; after `within`
    seconds the last AssertionError is raised."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)


async def until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    within: float,
    what: str,
    interval: float = 0.3,
) -> T:
    """Polls `probe` until `done(result)`; fails with the last result after `within` s."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            last = repr(result)
            last = last if len(last) < 2000 else last[:2000] + "…"
            raise AssertionError(f"{what}: not reached within {within:.0f}s; last: {last}")
        await asyncio.sleep(interval)
