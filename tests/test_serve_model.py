"""What `pbt-track serve` holds of a population, built from literal rows: lines, progress, marks, generations.

Rows are tuples in `store.serve.HistoryRow`'s order, as the record hands
them out: (id, experiment id, policy, iteration, objective, life, written, best copy).
"""

from __future__ import annotations

import math
import random

import pytest

from pbt_tracker.report.pbt import progress_from_history
from pbt_tracker.serve.chart import colours
from pbt_tracker.serve.marks import CANCEL, CRASH, marks_of
from pbt_tracker.serve.population import Policy, Population, best_of
from pbt_tracker.serve.series import Line, decimated, path_data
from pbt_tracker.store.serve import AttemptRow, ReplacementRow

T0 = 1_800_000_000.0


def population(*indices: int, launch: int = 1) -> Population:
    """Policies with these indices, experiment id = index + 1, coloured as a refresh colours them."""
    found = Population()
    palette = colours(len(indices))
    found.policies = {index + 1: Policy(index + 1, launch, index, f"policy {index}", f"{index:02d}_toy", palette[number])
                      for number, index in enumerate(indices)}
    return found


def row(row_id: int, policy: int, iteration: int, objective: float | None, life: str = "a",
        written: float | None = None, copy_of: int | None = None) -> tuple:
    """A file of `policy`'s directory (or, with `copy_of`, its best copy of that policy's file)."""
    return (row_id, policy + 1, policy if copy_of is None else copy_of, iteration, objective, life,
            T0 + row_id if written is None else written, int(copy_of is not None))


def test_each_life_of_a_policy_is_a_line_in_iteration_order_and_rows_without_objective_are_not_drawn():
    held = population(0)
    assert held.add_history([row(1, 0, 1, 10.0), row(2, 0, 2, None), row(3, 0, 3, 30.0),
                             row(4, 0, 1, 1.5, life="b"), row(5, 0, 2, 2.5, life="b")])
    [first, second] = held.policies[1].lines
    assert (first.life, first.number, list(first.iterations), list(first.objectives)) == ("a", 1, [1, 3], [10.0, 30.0])
    assert (second.life, second.number, list(second.iterations), list(second.times)) == ("b", 2, [1, 2], [T0 + 4, T0 + 5])
    assert (held.iterations.low, held.iterations.high, held.objectives.low, held.objectives.high) == (1, 3, 1.5, 30.0)
    assert held.time_origin == math.floor((T0 + 1) / 60) * 60
    assert held.generation == 1


def test_rows_of_experiments_not_shown_are_left_out():
    held = population(0)
    assert held.add_history([row(1, 5, 1, 10.0)])
    assert held.policies[1].lines == [] and held.generation == 0


def test_an_iteration_written_again_replaces_the_earlier_version_and_the_line_is_no_longer_an_extension():
    held = population(0)
    held.add_history([row(1, 0, 1, 10.0), row(2, 0, 2, 20.0), row(3, 0, 3, 30.0)])
    assert held.add_history([row(4, 0, 2, 21.0), row(5, 0, 3, 31.0)]) is False
    [line] = held.policies[1].lines
    assert (list(line.iterations), list(line.objectives)) == ([1, 2, 3], [10.0, 21.0, 31.0])


def test_a_page_is_sent_the_points_of_the_generations_after_its_own():
    line = Line("a", 1)
    line.add(1, [1, 2], [1.0, 2.0], [T0, T0 + 1])
    line.add(2, [3], [3.0], [T0 + 2])
    line.add(5, [4, 5], [4.0, 5.0], [T0 + 3, T0 + 4])
    assert [line.since(generation) for generation in (0, 1, 2, 3, 4, 5)] == [0, 2, 3, 3, 3, 5]
    assert line.born == 1
    assert path_data(line.iterations, line.objectives, range(line.since(2), len(line)), start_with_move=False) == \
        "L4 4L5 5"


def test_a_page_older_than_the_generations_a_line_remembers_is_told_so(monkeypatch: pytest.MonkeyPatch):
    from pbt_tracker.serve import series

    monkeypatch.setattr(series, "_KEPT_GROWTHS", 4)
    line = Line("a", 1)
    for generation in range(1, 7):
        line.add(generation, [generation], [float(generation)], [T0 + generation])
    assert line.since(1) is None
    assert [line.since(generation) for generation in (2, 3, 4, 5, 6)] == [2, 3, 4, 5, 6]


def _all_rows_as_report(rows: list[tuple]) -> list[dict]:
    return [{"id": r[0], "experiment_id": r[1], "policy": r[2], "iteration": r[3], "true_objective": r[4],
             "experiment_name": r[5], "file_key": "best" if r[7] else "own", "file_mtime": r[6], "params": None}
            for r in rows]


@pytest.mark.parametrize("seed", range(20))
def test_progress_from_the_decisive_rows_is_what_report_pbt_tells_from_every_row(seed: int):
    chooser = random.Random(seed)
    rows = []
    for row_id in range(1, 200):
        policy = chooser.randrange(3)
        copy_of = chooser.randrange(3) if chooser.random() < 0.1 else None
        objective = None if chooser.random() < 0.05 else round(chooser.uniform(-5, 100), 2)
        rows.append(row(row_id, policy, chooser.randrange(1, 30), objective, life=chooser.choice("abc"),
                        written=T0 + chooser.randrange(50), copy_of=copy_of))
    held = population(0, 1, 2)
    for start in range(0, len(rows), 37):  # refreshes of a few rows each
        held.add_history(rows[start:start + 37])
    everything = _all_rows_as_report(rows)
    launch_best = best_of(held.decisive_rows(1))
    for experiment_id, policy in held.policies.items():
        assert progress_from_history(held.rows_deciding(policy, launch_best), experiment_id, policy.index) == \
            progress_from_history(everything, experiment_id, policy.index)


def test_decimation_keeps_each_columns_lowest_and_highest_point_in_order_and_the_last():
    xs = list(range(100))
    ys = [float((x * 37) % 11) for x in xs]
    kept = decimated(xs, ys, 0, 100, 10)
    for column in range(10):
        inside = [index for index in kept if column * 10 <= xs[index] < column * 10 + 10]
        values = ys[column * 10:column * 10 + 10]
        assert sorted(ys[index] for index in inside) == sorted({min(values), max(values)})
    assert kept == sorted(kept) and kept[-1] == 99
    assert decimated(xs[:20], ys[:20], 0, 100, 10) == list(range(20))  # two points a column or fewer: all of them


def held_for_marks() -> Population:
    """Policy 0: iterations 1-4 (life a), attempt 1 FAILED after iteration 2, attempt 2 from iteration 3,
    took policy 1's weights after iteration 3, then a new life b. Policy 1: cancelled after iteration 2."""
    held = population(0, 1)
    held.add_history([row(1, 0, 1, 10.0, written=T0 + 10), row(2, 0, 2, 20.0, written=T0 + 20),
                      row(3, 0, 3, 30.0, written=T0 + 60), row(4, 0, 4, 40.0, written=T0 + 70),
                      row(5, 0, 1, 5.0, life="b", written=T0 + 80), row(6, 1, 1, 11.0, written=T0 + 10),
                      row(7, 1, 2, 12.0, written=T0 + 20)])
    zero, one = held.policies[1], held.policies[2]
    zero.attempts = [AttemptRow(1, 1, "FAILED", 3, None, T0, T0 + 25), AttemptRow(1, 2, "COMPLETED", 0, None, T0 + 50, T0 + 90)]
    zero.replacements = [ReplacementRow(1, 1, 0, 1, 3, 2, T0 + 50, "x"), ReplacementRow(2, 1, 0, 0, 1, 2, T0 + 50, "x")]
    one.attempts = [AttemptRow(2, 1, "CANCELLED", None, None, T0, T0 + 30)]
    return held


def test_marks_sit_where_plot_puts_them_and_crashes_and_cancels_on_the_last_point_before_the_end():
    held = held_for_marks()
    found = [(mark.kind, mark.iteration, mark.objective, mark.title, mark.note)
             for policy in held.policies.values() for mark in marks_of(policy)]
    assert found == [
        ("replacement", 3, 30.0, "policy 0 took policy 1's weights after iteration 3", "1"),
        ("restart", 1, 5.0, "policy 0 restarted from scratch: life 2 (b)", ""),
        ("attempt", 3, 30.0, "policy 0 resumed as attempt 2", ""),
        (CRASH, 2, 20.0, "policy 0: attempt 1 ended FAILED (exit 3)", ""),
        (CANCEL, 2, 12.0, "policy 1: attempt 1 ended CANCELLED", ""),
    ]
