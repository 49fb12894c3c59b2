"""Makes helpers.py importable as `devsink_testkit` (importlib mode keeps test folders off
sys.path, and a name of its own cannot clash with another folder's helpers)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio


def _load(name: str, filename: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_load("devsink_testkit", "helpers.py")

from devsink_testkit import sink_config  # noqa: E402

from devsink import DevSink  # noqa: E402


@pytest_asyncio.fixture
async def sink(tmp_path: Path) -> AsyncIterator[DevSink]:
    running = DevSink(sink_config(tmp_path))
    await running.start()
    yield running
    await running.stop()
