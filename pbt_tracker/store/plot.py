"""The statements behind `pbt-track plot`: the selected policies' attempts, each policy's own iteration files,
the replacements its logs printed, and the keeper's decisions about it.

A population of 64 policies over 10,000 iterations is 640,000 iteration
rows, so they are handed out one experiment at a time, each made into its
named row in C (`tuple.__new__`), with no Python call per row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from pbt_tracker.store.selections import column_list, marks, named_rows, selected_as

if TYPE_CHECKING:
    from pbt_tracker.store.selection import Selection

__all__ = [
    "DecisionRow", "IterationRow", "PlotAttempt", "ReplacementRow", "decisions", "own_iterations", "plot_attempts",
    "replacements",
]

_CHUNK = 500  # ids per statement, well under SQLite's limit on parameters


class PlotAttempt(NamedTuple):
    """A selected attempt, with what tells whether its experiment is a PBT policy and how to label it."""

    experiment_id: int
    params: str  # JSON
    cmd: str
    run: str
    launch_id: int
    attempt: int
    started_at: str | None
    state: str
    ended_at: str | None
    timeout_template: str | None  # of an attempt that ended FAILED 124 (GNU timeout's), the launch's template


_PLOT_ATTEMPT = column_list(
    PlotAttempt._fields, experiment_id="e.id", params="e.params", cmd="e.cmd", run="l.run_name", launch_id="l.id",
    attempt="s.attempt", started_at="s.started_at", state="s.state", ended_at="s.ended_at",
    timeout_template="CASE WHEN s.state = 'FAILED' AND s.exit_code = 124 THEN l.template_text END",
)


def plot_attempts(connection: sqlite3.Connection, selection: Selection) -> list[PlotAttempt]:
    return selected_as(connection, selection, _PLOT_ATTEMPT, PlotAttempt)


class IterationRow(NamedTuple):
    """One of the policy's own iteration files, as pbt_iterations holds it."""

    iteration: int
    frame: int | None
    objective: float | None
    life: str | None  # the experiment name the file carries
    written_at: str  # the file's modification time


def own_iterations(connection: sqlite3.Connection, experiment_id: int, frames: bool = True) -> Iterator[IterationRow]:
    """Each of the experiment's own files, in iteration order; the frame is None unless `frames` is asked for.

    The ``best<idx>`` copies a policy keeps of others are left out: each is
    already on record as its source policy's own file.
    """
    return map(partial(tuple.__new__, IterationRow), connection.execute(
        f"SELECT iteration, {'frame' if frames else 'NULL'}, true_objective, experiment_name, file_mtime "
        "FROM pbt_iterations WHERE experiment_id = ? AND file_key NOT LIKE 'best%' ORDER BY iteration",
        (experiment_id,),
    ))


class ReplacementRow(NamedTuple):
    """A replacement a policy's log printed: it took `donor`'s weights after `iteration`."""

    experiment_id: int
    policy: int
    donor: int | None
    iteration: int | None
    attempt_started_at: str | None  # when the attempt whose log said it started
    undone: int  # 1 when a continuation did not carry it (pbt_starts)


def replacements(connection: sqlite3.Connection, experiment_ids: Sequence[int]) -> list[ReplacementRow]:
    """The replacements of these experiments' attempts, in log order."""
    rows: list[ReplacementRow] = []
    for start in range(0, len(experiment_ids), _CHUNK):
        ids = list(experiment_ids[start:start + _CHUNK])
        rows += named_rows(connection.execute(
            "SELECT s.experiment_id, ev.policy, ev.donor, ev.iteration, s.started_at, EXISTS (SELECT 1 FROM "
            "pbt_starts AS st WHERE st.submission_id = ev.submission_id AND st.policy = ev.policy "
            "AND st.checkpoint = ev.checkpoint AND st.outcome = 'undone') FROM pbt_events AS ev "
            "JOIN submissions AS s ON s.id = ev.submission_id "
            f"WHERE s.experiment_id IN ({marks(ids)}) ORDER BY s.experiment_id, s.attempt, ev.log_offset",
            ids,
        ), ReplacementRow)
    return rows


class DecisionRow(NamedTuple):
    """One of the keeper's decisions about an experiment."""

    experiment_id: int
    decided_at: str
    action: str


def decisions(connection: sqlite3.Connection, experiment_ids: Sequence[int],
              left_out: Sequence[str] = ()) -> list[DecisionRow]:
    """The keeper's decisions about these experiments, in the order made, but for the actions `left_out`."""
    rows: list[DecisionRow] = []
    for start in range(0, len(experiment_ids), _CHUNK):
        ids = list(experiment_ids[start:start + _CHUNK])
        rows += named_rows(connection.execute(
            "SELECT experiment_id, decided_at, action FROM keeper_decisions "
            f"WHERE experiment_id IN ({marks(ids)}) AND action NOT IN ({marks(left_out)}) ORDER BY id",
            [*ids, *left_out],
        ), DecisionRow)
    return rows
