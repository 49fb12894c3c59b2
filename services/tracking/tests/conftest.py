"""Tracking test fixtures. Test modules import the fakes as `tracking_tests_fakes`."""

from __future__ import annotations

import pytest
import tracking_tests_fakes as fakes


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
