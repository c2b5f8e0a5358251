"""What `show` and `logs` read: one experiment in full, with its attempts, their states and the cancels that named it.

An experiment's name is unique within its launch only, so lookups by name
return the newest launch's experiment first. Their start-up is timed, so no
`from __future__ import annotations`: a NamedTuple's annotations given as
text are each compiled as it is defined.
"""

import sqlite3
from typing import NamedTuple

from pbt_tracker.store.selections import column_list, marks, named_rows

__all__ = [
    "AttemptDetail", "Cancellation", "ExperimentRow", "StateChange", "attempts", "cancellations_naming",
    "experiments_named", "experiments_newest_first", "state_changes",
]


class ExperimentRow(NamedTuple):
    id: int
    name: str
    base_name: str
    params: str  # JSON
    cmd: str
    train_dir: str
    launch_id: int
    run_name: str
    backend: str
    cwd: str | None


_EXPERIMENT = "SELECT " + column_list(
    ExperimentRow._fields, id="e.id", name="e.name", base_name="e.base_name", params="e.params", cmd="e.cmd",
    train_dir="e.train_dir", launch_id="e.launch_id", run_name="l.run_name", backend="l.backend", cwd="l.cwd",
) + " FROM experiments AS e JOIN launches AS l ON l.id = e.launch_id"


def experiments_named(connection: sqlite3.Connection, name: str) -> list[ExperimentRow]:
    """Every experiment of that name, newest launch first."""
    return named_rows(connection.execute(
        f"{_EXPERIMENT} WHERE e.name = ? ORDER BY e.launch_id DESC", (name,)), ExperimentRow)


def experiments_newest_first(connection: sqlite3.Connection) -> list[ExperimentRow]:
    """Every experiment, newest launch first: the caller picks the one whose policy it wants."""
    return named_rows(connection.execute(f"{_EXPERIMENT} ORDER BY e.launch_id DESC, e.position"), ExperimentRow)


class AttemptDetail(NamedTuple):
    """One submission as `show` tells it, with its script and, for an array task, its array's sbatch command."""

    id: int
    attempt: int
    job_id: str | None
    state: str
    exit_code: int | None
    exit_signal: int | None
    node: str | None
    pending_reason: str | None
    submitted_at: str | None
    started_at: str | None
    ended_at: str | None
    argv: str  # JSON
    log_path: str | None
    submit_stderr: str | None
    array_id: int | None
    script_path: str | None
    array_argv: str | None  # JSON
    cancel_requested_at: str | None
    clock_skew: int | None


_ATTEMPT = column_list(
    AttemptDetail._fields, script_path="sc.path", array_argv="a.argv",
    **{field: f"s.{field}" for field in AttemptDetail._fields if field not in ("script_path", "array_argv")},
)


def attempts(connection: sqlite3.Connection, experiment_id: int) -> list[AttemptDetail]:
    """Every submission of the experiment, oldest first."""
    return named_rows(connection.execute(
        f"SELECT {_ATTEMPT} FROM submissions AS s LEFT OUTER JOIN scripts AS sc ON sc.id = s.script_id "
        "LEFT OUTER JOIN slurm_arrays AS a ON a.id = s.array_id WHERE s.experiment_id = ? ORDER BY s.attempt",
        (experiment_id,),
    ), AttemptDetail)


class StateChange(NamedTuple):
    state: str
    observed_at: str
    detail: str | None


def state_changes(connection: sqlite3.Connection, submission_id: int) -> list[StateChange]:
    return named_rows(connection.execute(
        "SELECT state, observed_at, detail FROM state_changes WHERE submission_id = ? ORDER BY observed_at, id",
        (submission_id,),
    ), StateChange)


class Cancellation(NamedTuple):
    id: int
    requested_at: str
    argv: str  # JSON
    returncode: int | None
    stderr: str | None


def cancellations_naming(connection: sqlite3.Connection, job_ids: list[str], names: list[str]) -> list[Cancellation]:
    """Cancel requests that listed one of the job ids, or whose selection named the experiment."""
    jobs = marks(job_ids) or "NULL"
    named = marks(names) or "NULL"
    return named_rows(connection.execute(
        "SELECT c.id, c.requested_at, c.argv, c.returncode, c.stderr FROM cancellations AS c "
        f"WHERE EXISTS (SELECT 1 FROM json_each(c.job_ids) WHERE value IN ({jobs})) "
        f"OR EXISTS (SELECT 1 FROM json_each(c.selection, '$.experiments') WHERE value IN ({named})) "
        "ORDER BY c.requested_at, c.id",
        (*job_ids, *names),
    ), Cancellation)
