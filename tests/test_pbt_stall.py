"""A running policy is stalled when it has gone several of its own iteration times without a new iteration."""

from pbt_tracker.pbt.stall import STALL_FACTOR, STALL_FLOOR_SECONDS, Stall, stall_of

EVERY_10_MINUTES = [(1, 1000.0), (2, 1600.0), (2, 1660.0), (3, 2200.0), (4, 2800.0)]


def test_the_default_limit_is_five_times_the_median_interval():
    assert (STALL_FACTOR, STALL_FLOOR_SECONDS) == (5.0, 600.0)
    assert stall_of(EVERY_10_MINUTES, now=2800.0 + 3000.0) == Stall(False, 3000.0, 3000.0)
    assert stall_of(EVERY_10_MINUTES, now=2800.0 + 3001.0) == Stall(True, 3001.0, 3000.0)


def test_a_fast_policy_gets_the_floor():
    history = [(iteration, 100.0 + 10.0 * iteration) for iteration in range(1, 20)]

    assert stall_of(history, now=290.0 + 600.0) == Stall(False, 600.0, 600.0)
    assert stall_of(history, now=290.0 + 601.0).stalled


def test_only_a_new_highest_iteration_counts_as_progress_at_the_time_it_was_first_seen():
    history = [(3, 2200.0), (1, 1000.0), (2, 1600.0), (3, 2500.0), (2, 2600.0), (4, 2800.0), (4, 5000.0)]

    assert stall_of(history, now=6000.0) == Stall(True, 3200.0, 3000.0)


def test_an_explicit_limit_wins_and_works_from_the_first_iteration():
    assert stall_of([(1, 100.0)], now=170.0, stall_after=60.0) == Stall(True, 70.0, 60.0)
    assert stall_of(EVERY_10_MINUTES, now=2900.0, stall_after=60.0) == Stall(True, 100.0, 60.0)


def test_without_a_pace_to_judge_by_a_policy_is_not_called_stalled():
    assert stall_of([], now=1e9) == Stall(False, None, None)
    assert stall_of([(1, 0.0), (2, 10.0)], now=1e9) == Stall(False, 1e9 - 10.0, None)
    assert stall_of([(5, 0.0), (5, 100.0), (4, 200.0)], now=1e9) == Stall(False, 1e9, None)
