"""What an SMTP reply means for the ledger, retry timing, offsets."""

from __future__ import annotations

import uuid

import pytest

from delivery.bounces import Reply, Stage, enhanced_status
from delivery.domain import Counts, RetryPolicy, State, decide
from delivery.pipeline.offsets import OffsetTracker
from delivery.settings import Settings

POLICY = RetryPolicy(base_seconds=2, max_seconds=60, horizon_seconds=3600)


@pytest.mark.parametrize(
    ("reply", "age", "state"),
    [
        (Reply(Stage.END, 250, "2.0.0 Ok"), 0, State.SENT),
        (Reply(Stage.RCPT, 550, "5.1.1 unknown"), 0, State.BOUNCED),
        (Reply(Stage.END, 554, "5.7.1 rejected"), 0, State.BLOCKED),
        (Reply(Stage.MAIL, 553, "5.1.8 sender refused"), 0, State.FAILED),
        (Reply(Stage.RCPT, 451, "4.7.1 later"), 0, State.RETRY),
        (Reply(Stage.RCPT, 451, "4.7.1 later"), 3599, State.RETRY),
        (Reply(Stage.RCPT, 451, "4.7.1 later"), 3600, State.SOFT_BOUNCED),
        (Reply(Stage.RCPT, 552, "5.2.2 mailbox full"), 0, State.RETRY),
        (Reply(Stage.RCPT, 552, "5.2.2 mailbox full"), 7200, State.SOFT_BOUNCED),
        (Reply(Stage.CONNECT, None, "refused"), 0, State.RETRY),
        (Reply(Stage.DATA, None, "lost"), 0, State.RETRY),
        (Reply(Stage.END, None, "lost after the message"), 0, State.UNKNOWN),
    ],
)
def test_decide(reply: Reply, age: float, state: State) -> None:
    assert decide(reply, 1, age, POLICY).state is state


def test_the_last_retry_is_at_the_horizon_not_after_it() -> None:
    decision = decide(Reply(Stage.RCPT, 451, "4.7.1 later"), 30, 3590, POLICY)
    assert decision.state is State.RETRY
    assert decision.retry_in is not None and decision.retry_in <= 10


def test_backoff_grows_and_is_capped() -> None:
    delays = [POLICY.delay(n) for n in range(1, 8)]
    assert 1.6 <= delays[0] <= 2.4
    assert 3.2 <= delays[1] <= 4.8
    assert max(delays) <= 72


def test_enhanced_status() -> None:
    assert enhanced_status("5.1.1 <x@y>: user unknown") == "5.1.1"
    assert enhanced_status("try again later") is None


def test_progress_counts_each_state_and_deferrals() -> None:
    counts = Counts(
        {
            "sent": 2,
            "bounced": 1,
            "unknown": 1,
            "suppressed": 1,
            "retry": 1,
            "blocked": 3,
            "complained": 4,
            "sending": 5,
        }
    )
    event = counts.progress(uuid.uuid4(), uuid.uuid4(), sequence=7)
    assert (event.sent, event.bounced, event.unknown, event.suppressed) == (2, 1, 1, 1)
    assert (event.deferred, event.sequence, event.completed) == (1, 7, False)
    assert (event.blocked, event.complained) == (3, 4)
    again = counts.progress(event.tenant_id, event.campaign_id, sequence=7)
    assert again.event_id == event.event_id, "one sequence, one event id"


def test_offsets_commit_below_the_lowest_pending() -> None:
    t = OffsetTracker()
    tp = ("t", 0)
    gens = [t.add(tp, o) for o in range(5)]
    for o in (0, 1, 3):
        t.done(tp, o, gens[o])
    assert t.committable() == {tp: 2}
    t.committed({tp: 2})
    assert t.committable() == {}
    t.done(tp, 2, gens[2])
    t.done(tp, 4, gens[4])
    assert t.committable() == {tp: 5}


def test_records_that_never_enter_the_pipeline_do_not_hold_commits_back() -> None:
    t = OffsetTracker()
    tp = ("t", 0)
    t.done(tp, 0, t.add(tp, 0))
    t.seen({tp: 3})  # offsets 1 and 2 were parked
    assert t.committable() == {tp: 3}


def test_revoked_partition_ignores_old_work() -> None:
    t = OffsetTracker()
    tp = ("t", 1)
    gen = t.add(tp, 7)
    t.revoke({tp})
    t.done(tp, 7, gen)
    assert t.committable() == {}
    assert not t.current(tp, gen)


@pytest.mark.parametrize(
    "url", ["http://t.example.com", "ftp://127.0.0.1", "https://", "http://10.0.0.1:8004"]
)
def test_a_tracking_base_url_that_is_not_https_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="TRACKING_BASE_URL"):
        Settings(tracking_base_url=url)


@pytest.mark.parametrize(
    "url", ["https://t.example.com", "http://127.0.0.1:8004", "http://localhost:8004"]
)
def test_https_or_a_loopback_tracking_base_url_is_taken(url: str) -> None:
    assert Settings(tracking_base_url=url).tracking_base_url == url
