"""Fixtures of the composer's unit tier: the in-memory ports of fakes.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_fakes():  # type: ignore[no-untyped-def]
    # importlib mode keeps test folders off sys.path; a unique module name avoids clashing
    # with other services' fakes.py.
    name = "composer_tests_fakes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fakes = _load_fakes()


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    return fakes.FakeStore()


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    return fakes.FakeClock()
