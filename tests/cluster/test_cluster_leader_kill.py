"""The broker leading most partitions of the recipient stream is killed (SIGKILL) half-way
through a campaign on the cluster stack, and brought back by `up.sh`: the campaign
completes, no mail is lost or sent twice (testkit.chaos checks that, the tracking hits and
the digests), and no producer error reached a user: every API call made during the test
answered without a 5xx, every open and click was answered as usual (nothing 503), and no
service logged a failed request.
"""

from __future__ import annotations

import pytest

from testkit import chaos, stack
from testkit.platform import Endpoints

pytestmark = [pytest.mark.fault, pytest.mark.timeout(900)]

FAILED_REQUEST = ("Exception in ASGI application", "Internal Server Error")


async def test_killing_the_leader_of_the_recipient_stream_loses_and_doubles_nothing():
    logs = stack.LogWindow()
    outcome = await chaos.run(
        chaos.Fault(lambda: stack.leader_of("recipient.resolved"), "mid", hits=60),
        recipients=4000,
        endpoints=Endpoints.every_instance(),
        up_env=stack.as_it_is(),
        say=print,
    )
    print(outcome.notes)
    assert outcome.victim.startswith("kafka-"), outcome.victim
    assert outcome.ok, "\n".join(outcome.problems)
    assert not outcome.api_errors, outcome.api_errors
    assert set(outcome.hit_statuses) <= {"200", "302"}, dict(outcome.hit_statuses)
    assert outcome.hits_while_down, "no hit was made while the broker was down"
    assert not logs.matching(*FAILED_REQUEST), logs.matching(*FAILED_REQUEST)
