"""End-to-end tests talk to the running stack only (testkit.platform and testkit.sink are
their clients): they fail at once, never skip, when a service of the stack does not
answer, and the fault-injection tests run last."""

from __future__ import annotations

import pytest

from testkit.platform import down


@pytest.fixture(scope="session", autouse=True)
async def services_running(stack: object) -> None:
    failing = await down()
    if failing:
        pytest.fail(f"not running: {', '.join(failing)}; run `make up`", pytrace=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault injection restarts the stack under everybody's feet: it runs last."""
    items.sort(key=lambda item: item.get_closest_marker("fault") is not None)
