"""Hostile input against the running services (`make up`): every public endpoint gets
oversized, malformed, forged and replayed input, answers with a clear 4xx (or ignores it as
specified) and keeps serving; memory stays bounded."""

from __future__ import annotations

import pytest

from testkit.platform import down


@pytest.fixture(scope="session", autouse=True)
async def services_running(stack: object) -> None:
    failing = await down()
    if failing:
        pytest.fail(f"not running: {', '.join(failing)}; run `make up`", pytrace=False)
