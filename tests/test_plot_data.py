"""What a plot of a policy holds, worked out from literal rows of the record: lives, restarts, replacements, attempts,
crashes, cancels and the keeper's decisions, on an iteration, frame or time axis."""

from __future__ import annotations

from pbt_tracker.plot.data import (
    ATTEMPT,
    CANCEL,
    CRASH,
    KEEPER,
    REPLACEMENT,
    RESTART,
    Attempt,
    Decision,
    IterationRow,
    Line,
    Mark,
    Replacement,
    legend_labels,
    policy_plot,
    seconds,
)

T0 = 1_795_946_400.0  # 2026-11-29 10:00:00 UTC, in seconds since the epoch


def t(second: int) -> str:
    return f"2026-11-29 10:00:{second:02d}.000000"


def row(iteration: int, objective: float | None, life: str | None, second: int, frame: int | None = None) -> IterationRow:
    return IterationRow(iteration, iteration * 1000 if frame is None else frame, objective, life, t(second))


def test_one_life_is_one_line_in_iteration_order_whatever_order_the_rows_come_in() -> None:
    plot = policy_plot("policy 0", 0, [row(2, 20.0, "a", 2), row(1, 10.0, "a", 1), row(3, 30.0, "a", 3)])
    assert plot.lines == [Line("policy 0", 1, [1.0, 2.0, 3.0], [10.0, 20.0, 30.0])]
    assert plot.marks == []


def test_a_new_experiment_name_is_a_new_life_marked_as_a_restart_at_its_first_point() -> None:
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(3, 30.0, "a", 3),
            row(1, 5.0, "b", 10), row(2, 6.0, "b", 11)]
    plot = policy_plot("policy 0", 0, rows)
    assert plot.lines == [Line("policy 0", 1, [1.0, 2.0, 3.0], [10.0, 20.0, 30.0]),
                          Line("policy 0", 2, [1.0, 2.0], [5.0, 6.0])]
    assert plot.marks == [Mark(RESTART, "policy 0", 1.0, 5.0, "life 2")]


def test_lives_are_ordered_by_when_they_began_and_a_rewritten_iteration_keeps_its_latest_version() -> None:
    rows = [row(1, 5.0, "b", 10), row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(2, 21.0, "a", 4)]
    plot = policy_plot("policy 0", 0, rows)
    assert [(line.life, line.ys) for line in plot.lines] == [(1, [10.0, 21.0]), (2, [5.0])]


def test_rows_without_an_objective_are_left_out_and_so_are_rows_without_a_frame_on_a_frame_axis() -> None:
    rows = [row(1, 10.0, "a", 1, frame=500), row(2, None, "a", 2), row(3, 30.0, "a", 3, frame=0)]
    rows[2] = rows[2]._replace(frame=None)
    assert policy_plot("p", 0, rows).lines == [Line("p", 1, [1.0, 3.0], [10.0, 30.0])]
    assert policy_plot("p", 0, rows, x_axis="frame").lines == [Line("p", 1, [500.0], [10.0])]


def test_a_policy_without_usable_rows_has_no_lines() -> None:
    assert policy_plot("p", 0, [row(1, None, "a", 1)]).lines == []


def test_a_replacement_by_a_donor_is_marked_where_the_policy_was_before_it_took_the_donors_weights() -> None:
    rows = [row(iteration, float(iteration), "a", iteration) for iteration in range(1, 6)]
    replacements = [Replacement(donor=3, iteration=2, attempt_started_at=t(0)),
                    Replacement(donor=0, iteration=3, attempt_started_at=t(0)),  # its own weights: a mutation only
                    Replacement(donor=1, iteration=None, attempt_started_at=t(0)),  # iteration never printed
                    Replacement(donor=1, iteration=9, attempt_started_at=t(0))]  # not on record
    plot = policy_plot("policy 0", 0, rows, replacements)
    assert plot.marks == [Mark(REPLACEMENT, "policy 0", 2.0, 2.0, "from 3")]
    frames = policy_plot("policy 0", 0, rows, replacements, x_axis="frame")
    assert frames.marks == [Mark(REPLACEMENT, "policy 0", 2000.0, 2.0, "from 3")]


def test_a_replacement_goes_on_the_life_its_attempt_wrote() -> None:
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(1, 5.0, "b", 10), row(2, 6.0, "b", 11)]
    early = Replacement(donor=1, iteration=2, attempt_started_at=t(0))
    late = Replacement(donor=1, iteration=2, attempt_started_at=t(9))
    unknown = Replacement(donor=1, iteration=2, attempt_started_at=None)
    assert [mark.y for mark in policy_plot("p", 0, rows, [early, late, unknown]).marks if mark.kind == REPLACEMENT] == [
        20.0, 6.0, 20.0,
    ]
    after_the_last = Replacement(donor=1, iteration=2, attempt_started_at=t(30))
    assert [mark.y for mark in policy_plot("p", 0, rows, [after_the_last]).marks if mark.kind == REPLACEMENT] == [6.0]


def test_a_later_attempt_is_marked_at_the_first_iteration_written_after_it_started() -> None:
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(3, 30.0, "a", 20), row(4, 40.0, "a", 21)]
    attempts = [Attempt(1, t(0)), Attempt(2, t(15)), Attempt(3, t(25)), Attempt(4, None)]
    assert policy_plot("policy 2", 2, rows, attempts=attempts).marks == [
        Mark(ATTEMPT, "policy 2", 3.0, 30.0, "attempt 2"),  # attempt 3 wrote nothing yet, attempt 4 never started
    ]


def test_an_attempt_that_started_the_second_a_file_was_written_is_marked_there() -> None:
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2)]
    assert policy_plot("p", 0, rows, attempts=[Attempt(2, t(2))]).marks == [Mark(ATTEMPT, "p", 2.0, 20.0, "attempt 2")]


def test_a_recorded_time_is_its_seconds_since_the_epoch_in_utc() -> None:
    assert seconds("2026-11-29 10:00:00.000000") == T0
    assert seconds("2026-11-29 10:00:07.250000") == T0 + 7.25
    assert seconds("2026-11-29 10:00:07") == T0 + 7


def test_on_a_time_axis_each_point_is_where_its_file_was_written() -> None:
    rows = [row(1, 10.0, "a", 3), row(2, 20.0, "a", 5), row(3, 30.0, "a", 9)]
    assert policy_plot("p", 0, rows, x_axis="time").lines == [
        Line("p", 1, [T0 + 3, T0 + 5, T0 + 9], [10.0, 20.0, 30.0]),
    ]


def test_on_a_time_axis_a_resumed_policy_runs_in_the_order_written_and_breaks_where_a_later_attempt_began() -> None:
    """Attempt 2 resumed from iteration 1's checkpoint: it wrote iteration 2 again, then 3."""
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(2, 21.0, "a", 30), row(3, 31.0, "a", 31)]
    attempts = [Attempt(1, t(0)), Attempt(2, t(29)), Attempt(3, t(50))]  # attempt 3 wrote nothing yet
    [line] = policy_plot("p", 0, rows, attempts=attempts, x_axis="time").lines
    assert line == Line("p", 1, [T0 + 1, T0 + 30, T0 + 31], [10.0, 21.0, 31.0], breaks=(1,))
    [by_iteration] = policy_plot("p", 0, rows, attempts=attempts).lines
    assert by_iteration.breaks == ()  # iterations run on: nothing lay between them


def test_a_policy_that_writes_its_first_iteration_again_under_the_same_name_started_over() -> None:
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(3, 30.0, "a", 3),
            row(1, 4.0, "a", 10), row(2, 5.0, "a", 11)]
    plot = policy_plot("policy 0", 0, rows)
    assert plot.lines == [Line("policy 0", 1, [1.0, 2.0, 3.0], [10.0, 20.0, 30.0]),
                          Line("policy 0", 2, [1.0, 2.0], [4.0, 5.0])]
    assert plot.marks == [Mark(RESTART, "policy 0", 1.0, 4.0, "life 2")]
    assert policy_plot("policy 0", 0, rows, x_axis="time").marks == [Mark(RESTART, "policy 0", T0 + 10, 4.0, "life 2")]


def test_a_resume_from_an_older_checkpoint_is_no_new_life() -> None:
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(3, 30.0, "a", 3), row(2, 22.0, "a", 10),
            row(3, 33.0, "a", 11)]
    plot = policy_plot("p", 0, rows)
    assert plot.lines == [Line("p", 1, [1.0, 2.0, 3.0], [10.0, 22.0, 33.0])]
    assert plot.marks == []


CRASHED_AT_12 = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 10), row(3, 30.0, "a", 40), row(4, 40.0, "a", 50)]


def test_a_crash_and_a_cancel_sit_on_the_last_point_written_before_the_attempt_ended() -> None:
    attempts = [Attempt(1, t(0), "FAILED", t(12)), Attempt(2, t(30), "CANCELLED", t(55)), Attempt(3, t(56), "RUNNING")]
    plot = policy_plot("policy 2", 2, CRASHED_AT_12, attempts=attempts)
    assert plot.marks == [
        Mark(ATTEMPT, "policy 2", 3.0, 30.0, "attempt 2"),
        Mark(CRASH, "policy 2", 2.0, 20.0, "attempt 1 FAILED"),
        Mark(CANCEL, "policy 2", 4.0, 40.0, "attempt 2 CANCELLED"),
    ]


def test_on_a_time_axis_a_crash_is_at_the_moment_the_attempt_ended_at_the_height_of_its_last_point() -> None:
    attempts = [Attempt(1, t(0), "OUT_OF_MEMORY", t(12)), Attempt(2, t(30), "NODE_FAIL", t(58))]
    plot = policy_plot("p", 0, CRASHED_AT_12, attempts=attempts, x_axis="time")
    assert [mark for mark in plot.marks if mark.kind == CRASH] == [
        Mark(CRASH, "p", T0 + 12, 20.0, "attempt 1 OUT_OF_MEMORY", since=T0 + 10),  # iteration 2's point, left of it
        Mark(CRASH, "p", T0 + 58, 40.0, "attempt 2 NODE_FAIL", since=T0 + 50),
    ]


def test_ends_that_are_no_crash_or_cancel_or_have_no_end_or_came_before_any_point_are_not_marked() -> None:
    attempts = [Attempt(1, t(0), "FAILED", t(0)),  # before the first point: nothing to sit on
                Attempt(2, t(0), "FAILED", None),  # its end is not on record
                Attempt(3, t(0), "COMPLETED", t(20)), Attempt(4, t(0), "TIMEOUT", t(45)),
                Attempt(5, t(0), "PREEMPTED", t(46))]
    assert [mark.kind for mark in policy_plot("p", 0, CRASHED_AT_12, attempts=attempts).marks] == [ATTEMPT] * 4


def test_an_attempt_stopped_at_its_time_limit_by_timeout_is_no_crash() -> None:
    attempts = [Attempt(1, t(0), "FAILED", t(12), time_limited=True), Attempt(2, t(30), "FAILED", t(58))]
    assert [(mark.kind, mark.note) for mark in policy_plot("p", 0, CRASHED_AT_12, attempts=attempts).marks] == [
        (ATTEMPT, "attempt 2"), (CRASH, "attempt 2 FAILED"),
    ]


def test_the_keepers_decisions_sit_on_the_last_point_written_by_then_noted_with_their_action() -> None:
    decisions = [Decision(t(13), "resume"), Decision(t(0), "wait"), Decision(t(59), "give-up")]
    assert policy_plot("p", 0, CRASHED_AT_12, decisions=decisions).marks == [
        Mark(KEEPER, "p", 2.0, 20.0, "resume"), Mark(KEEPER, "p", 4.0, 40.0, "give-up"),
    ]
    assert policy_plot("p", 0, CRASHED_AT_12, decisions=decisions, x_axis="time").marks == [
        Mark(KEEPER, "p", T0 + 13, 20.0, "resume", since=T0 + 10),
        Mark(KEEPER, "p", T0 + 59, 40.0, "give-up", since=T0 + 50),
    ]
    frames = policy_plot("p", 0, CRASHED_AT_12, decisions=decisions, x_axis="frame").marks
    assert [(mark.x, mark.note) for mark in frames] == [(2000.0, "resume"), (4000.0, "give-up")]


def test_a_moment_sits_on_the_point_drawn_not_on_an_older_version_of_it() -> None:
    """Iteration 2 was written again at second 30: a crash at 35 sits on the new version, on a time axis too."""
    rows = [row(1, 10.0, "a", 1), row(2, 20.0, "a", 2), row(2, 25.0, "a", 30)]
    attempts = [Attempt(2, t(29), "FAILED", t(35))]
    assert [mark for mark in policy_plot("p", 0, rows, attempts=attempts).marks if mark.kind == CRASH] == [
        Mark(CRASH, "p", 2.0, 25.0, "attempt 2 FAILED"),
    ]


def test_the_legend_lists_each_kind_of_mark_present_once_in_a_fixed_order() -> None:
    marks = [Mark(KEEPER, "p", 1.0, 1.0, "resume"), Mark(CRASH, "p", 1.0, 1.0, "attempt 1 FAILED"),
             Mark(REPLACEMENT, "q", 1.0, 1.0, "from 3"), Mark(CRASH, "q", 2.0, 2.0, "attempt 1 FAILED")]
    assert legend_labels(marks) == [
        (REPLACEMENT, "replaced by policy N"),
        (CRASH, "crashed (FAILED, OUT_OF_MEMORY, NODE_FAIL)"),
        (KEEPER, "keeper's decision"),
    ]
    assert legend_labels([]) == []
    assert legend_labels([Mark(CANCEL, "p", 1.0, 1.0, "attempt 1 CANCELLED"), Mark(RESTART, "p", 1.0, 1.0, "life 2"),
                          Mark(ATTEMPT, "p", 1.0, 1.0, "attempt 2")]) == [
        (RESTART, "restart from scratch (new life)"), (ATTEMPT, "resubmitted attempt"), (CANCEL, "cancelled"),
    ]
