"""PostgreSQL, a Kafka broker and Redis, each killed with SIGKILL, come back with a single
`deploy/local/up.sh` called at once: it waits for what is left of the killed process (a
postmaster's orphaned backends, a zombie not yet reaped) and removes lock files only once
their owner is gone. Then every service answers.

Disrupts everybody sharing the stack, like the other fault tests (`make fault`).
"""

from __future__ import annotations

import pytest

from testkit import stack
from testkit.platform import Endpoints, down
from testkit.waiting import until

pytestmark = [pytest.mark.fault, pytest.mark.timeout(900)]


@pytest.mark.parametrize("victim", ["postgres", "kafka", "redis"])
async def test_up_recovers_a_killed_component_on_its_first_call(victim):
    name = stack.kafka_nodes()[-1] if victim == "kafka" else victim
    pid = await stack.kill(name)
    ran = await stack.script("up.sh", env=stack.as_it_is())
    assert ran.ok, f"up.sh after kill -9 of {name} (pid {pid}):\n{ran.tail(40)}"
    assert stack.pid_of(name) not in (None, pid)
    # Services reconnect by themselves (their pools and clients retry).
    await until(
        lambda: down(endpoints=Endpoints.every_instance()),
        lambda failing: not failing,
        within=120,
        what=f"every service healthy after {name} came back",
    )
