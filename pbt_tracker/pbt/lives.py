"""Where a PBT policy started over, told from the iteration files on record: `report --pbt`, `show` and the keeper
say it, so that no policy silently loses its progress.

A policy started without ``++pbt_restart=True`` takes a new experiment name
(a continuation and the PBT algorithm's own restarts keep theirs), so each
name is a life. A file of iteration k is written once iteration k is done,
and a start from iteration j writes j + 1 first; a life whose first file is
iteration f therefore began from iteration f - 1 (or earlier, if its first
iterations went unsaved). When that is below the highest iteration of the
lives before it, the policy started over, and the iterations from there up
to that highest, as far as the new life has come, are done again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from pbt_tracker.store.lives import AttemptTime, LifeRow, attempt_times, life_ends

__all__ = ["StartOver", "over_text", "started_over", "starts_over"]


class StartOver(NamedTuple):
    experiment_id: int
    life: str | None  # the experiment name the new life's files carry
    attempt: int | None  # the attempt running when its first file was written; None when none on record was
    submission_id: int | None
    restarted_from: int
    after_iteration: int  # the highest iteration of the lives before it
    iteration: int  # the highest of the new life so far

    @property
    def redone(self) -> int:
        """Iterations of earlier lives done again so far."""
        return min(self.iteration, self.after_iteration) - self.restarted_from

    @property
    def caught_up(self) -> bool:
        return self.iteration >= self.after_iteration


def starts_over(rows: Iterable[LifeRow], attempts: Iterable[AttemptTime] = ()) -> list[StartOver]:
    """Each start over of each experiment among `rows`, in the order its lives began.

    Any rows of a policy will do that hold each life's first-written and
    highest file; times compare as the record writes them, which sorts
    like the times themselves.
    """
    by_experiment: dict[int, list[LifeRow]] = {}
    for row in rows:
        by_experiment.setdefault(row.experiment_id, []).append(row)
    runs: dict[int, list[AttemptTime]] = {}
    for attempt in attempts:
        runs.setdefault(attempt.experiment_id, []).append(attempt)
    found = []
    for experiment_id, policy_rows in by_experiment.items():
        lives: dict[str | None, list[LifeRow]] = {}
        for row in sorted(policy_rows, key=lambda row: row.written_at):  # stable: ties keep their order
            lives.setdefault(row.life, []).append(row)
        highest: int | None = None
        for life, written in lives.items():
            began_from = max(written[0].iteration - 1, 0)
            reached = max(row.iteration for row in written)
            if highest is not None and began_from < highest:
                run = _running_at(runs.get(experiment_id, []), written[0].written_at)
                found.append(StartOver(experiment_id, life, run.attempt if run else None,
                                       run.submission_id if run else None, began_from, highest, reached))
            highest = reached if highest is None else max(highest, reached)
    return found


def _running_at(attempts: list[AttemptTime], moment: str) -> AttemptTime | None:
    """The latest attempt that had started by `moment` and not ended before it."""
    running = [a for a in attempts if a.started_at is not None and a.started_at <= moment
               and (a.ended_at is None or a.ended_at >= moment)]
    return max(running, key=lambda a: a.attempt, default=None)


def over_text(experiment: str, over: StartOver) -> str:
    """``03_toy attempt 2 restarted from iteration 0 after iteration 31 (31 iterations redone so far)``."""
    who = f"{experiment} attempt {over.attempt}" if over.attempt is not None else \
        f"{experiment} (in a run outside its recorded attempts)"
    noun = "iteration" if over.redone == 1 else "iterations"
    return (f"{who} restarted from iteration {over.restarted_from} after iteration {over.after_iteration} "
            f"({over.redone} {noun} redone{'' if over.caught_up else ' so far'})")


def started_over(connection: sqlite3.Connection, experiment_ids: Iterable[int]) -> list[StartOver]:
    """The start overs of these experiments, from the record."""
    ids = list(experiment_ids)
    return starts_over(life_ends(connection, ids), attempt_times(connection, ids))
