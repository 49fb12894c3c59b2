"""A dev sink per test, started in-process on free ports (helpers.py builds its config)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from devsink_tests_helpers import sink_config

from devsink import DevSink


@pytest_asyncio.fixture
async def sink(tmp_path: Path) -> AsyncIterator[DevSink]:
    running = DevSink(sink_config(tmp_path))
    await running.start()
    yield running
    await running.stop()
