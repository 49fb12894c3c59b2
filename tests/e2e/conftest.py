"""Makes tests/e2e/helpers.py importable as `e2e_helpers` (importlib mode keeps test folders
off sys.path, and a name of its own cannot clash with another folder's helpers), and runs the
fault-injection tests last."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load(name: str, filename: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_load("e2e_helpers", "helpers.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault injection restarts the stack under everybody's feet: it runs last."""
    items.sort(key=lambda item: item.get_closest_marker("fault") is not None)
