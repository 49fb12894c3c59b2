"""Tracking test fixtures. Test modules import the fakes as `tracking_tests_fakes`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_fakes():  # type: ignore[no-untyped-def]
    # importlib mode keeps test folders off sys.path; a unique module name avoids clashing
    # with other services' fakes.py.
    name = "tracking_tests_fakes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fakes = _load_fakes()


@pytest.fixture(scope="module")
def tracking():  # type: ignore[no-untyped-def]
    """The real HTTP front and app, with a fake publisher, in a thread (one per module)."""
    with fakes.ThreadedTracking() as server:
        yield server


@pytest.fixture
def fresh(tracking):  # type: ignore[no-untyped-def]
    """The module's server with no events recorded yet and Kafka working."""
    tracking.publisher.events.clear()
    tracking.publisher.failing = False
    return tracking
