"""Fixtures of the composer's unit tier: the in-memory ports of fakes.py."""

from __future__ import annotations

import composer_tests_fakes as fakes
import pytest


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    return fakes.FakeStore()


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    return fakes.FakeClock()


@pytest.fixture
def dns():  # type: ignore[no-untyped-def]
    return fakes.FakeDns()


@pytest.fixture
def tools(dns):  # type: ignore[no-untyped-def]
    return fakes.sending_tools(dns)
