"""What a plot of a policy holds, worked out from literal rows of the record: lives, restarts, replacements, attempts."""

from __future__ import annotations

from pbt_tracker.plot.data import (
    ATTEMPT,
    REPLACEMENT,
    RESTART,
    Attempt,
    IterationRow,
    Line,
    Mark,
    Replacement,
    policy_plot,
)


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
