"""Tests of the stack as a cluster (`KAFKA_BROKERS=3 SCALE=2 make up`, or the second stack
`make test` starts for them): they fail, never skip, on a stack that is not one."""

from __future__ import annotations

import os

import pytest

from testkit import stack as processes
from testkit.platform import Endpoints, down


@pytest.fixture(scope="session", autouse=True)
async def cluster(stack: object) -> None:
    brokers = int(os.environ.get("KAFKA_BROKERS", "1"))
    if brokers < 3:
        pytest.fail(
            f"these tests need a Kafka cluster, the stack has {brokers} broker(s): "
            "run them on `KAFKA_BROKERS=3 SCALE=2 make up`",
            pytrace=False,
        )
    failing = await down(endpoints=Endpoints.every_instance())
    if failing:
        pytest.fail(f"not running: {', '.join(failing)}", pytrace=False)
    single = [s for s in processes.SERVICES if len(processes.instances(s)) < 2]
    if single:
        pytest.fail(f"one instance only of {', '.join(single)}: run with SCALE=2", pytrace=False)
