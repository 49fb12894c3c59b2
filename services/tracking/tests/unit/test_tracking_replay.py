"""The replay bound: how many hits of one token make events, and what it remembers."""

from __future__ import annotations

import pytest

from tracking.replay import ReplayBound

T = 1_800_000_000.0


def hits(bound: ReplayBound, token: str, count: int, at: float = T) -> list[bool]:
    return [bound.admit(token, at) for _ in range(count)]


def test_the_first_hits_of_a_token_count_and_the_rest_do_not() -> None:
    bound = ReplayBound(limit=20, window_s=600, capacity=100)
    assert hits(bound, "a", 25) == [True] * 20 + [False] * 5
    assert hits(bound, "b", 1) == [True], "other tokens are not affected"


def test_a_new_window_starts_when_the_old_one_is_over() -> None:
    bound = ReplayBound(limit=3, window_s=600, capacity=100)
    assert hits(bound, "a", 4, at=T) == [True, True, True, False]
    assert hits(bound, "a", 1, at=T + 599) == [False]
    assert hits(bound, "a", 4, at=T + 600) == [True, True, True, False]


def test_memory_is_capped() -> None:
    bound = ReplayBound(limit=2, window_s=600, capacity=1000)
    for i in range(10_000):
        bound.admit(f"token-{i}", T)
        bound.admit(f"token-{i}", T)
    assert len(bound) <= 1000


def test_a_replayed_token_is_not_pushed_out_by_tokens_hit_once() -> None:
    bound = ReplayBound(limit=20, window_s=600, capacity=1000)
    replayed = sum(hits(bound, "replayed", 2))  # a replay comes back soon
    attempts = 2
    for i in range(1, 36_001):  # 1,500 tokens hit once between two hits of the replayed one
        bound.admit(f"once-{i}", T)
        if i % 1500 == 0:
            replayed += bound.admit("replayed", T)
            attempts += 1
    assert (attempts, replayed) == (26, 20)


@pytest.mark.parametrize("limit", [0, 65535])
def test_limits_out_of_range_are_refused(limit: int) -> None:
    with pytest.raises(ValueError):
        ReplayBound(limit=limit, window_s=1, capacity=10)
