"""What a starting job's guard reads and writes: its experiment, the attempts of that experiment, its notes.

An experiment is the same one in every launch that gives it the same name
and train dir (the rule a launch's refusal of live experiments follows), so
its current attempt is the newest sent of any of them.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import NamedTuple

from pbt_tracker import states
from pbt_tracker.store import writes
from pbt_tracker.store.selections import column_list

__all__ = [
    "GuardAttempt", "GuardExperiment", "attempts_of", "chained_attempt", "guarded_experiment", "note", "recorded_job",
]


class GuardExperiment(NamedTuple):
    """The experiment a job script names, with what rendering its continuation needs (JSON columns as text)."""

    id: int
    name: str
    cmd: str
    params: str | None
    train_dir: str
    launch_id: int
    cwd: str | None
    options: str | None
    template_text: str | None
    template_path: str | None
    print_only: int


_EXPERIMENT = column_list(
    GuardExperiment._fields, id="e.id", name="e.name", cmd="e.cmd", params="e.params", train_dir="e.train_dir",
    launch_id="l.id", cwd="l.cwd", options="l.options", template_text="l.template_text",
    template_path="l.template_path", print_only="l.print_only",
)


def guarded_experiment(connection: sqlite3.Connection, launch_uuid: str, name: str) -> GuardExperiment | None:
    row = connection.execute(
        f"SELECT {_EXPERIMENT} FROM experiments AS e JOIN launches AS l ON l.id = e.launch_id "
        "WHERE l.uuid = ? AND e.name = ?",
        (launch_uuid, name),
    ).fetchone()
    return None if row is None else GuardExperiment._make(row)


class GuardAttempt(NamedTuple):
    """One sent attempt of the experiment, in any launch of it."""

    id: int
    experiment_id: int
    attempt: int
    launch_id: int
    launch_uuid: str | None
    job_id: str | None
    state: str
    origin: str | None
    script_id: int | None
    script_path: str | None
    array_id: int | None
    array_task: int | None


_ATTEMPT = column_list(
    GuardAttempt._fields, id="s.id", experiment_id="e.id", attempt="s.attempt", launch_id="l.id",
    launch_uuid="l.uuid", job_id="s.job_id", state="s.state", origin="s.origin", script_id="s.script_id",
    script_path="sc.path", array_id="s.array_id", array_task="s.array_task",
)


def attempts_of(connection: sqlite3.Connection, name: str, train_dir: str) -> list[GuardAttempt]:
    """Every attempt sent of the experiment, newest first; a preview's, never sent, is none."""
    return list(map(GuardAttempt._make, connection.execute(
        f"SELECT {_ATTEMPT} FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        "JOIN launches AS l ON l.id = e.launch_id LEFT OUTER JOIN scripts AS sc ON sc.id = s.script_id "
        "WHERE e.name = ? AND e.train_dir = ? AND s.state != ? ORDER BY s.id DESC",
        (name, train_dir, states.PRINT_ONLY),
    )))


def chained_attempt(connection: sqlite3.Connection, parent: GuardAttempt, job_id: str, log_path: str | None,
                    node: str | None, submitted_at: datetime | None, now: datetime, detail: str) -> tuple[int, int]:
    """A running job the record did not send, as its experiment's next attempt (origin chain, as sync records
    one it finds in squeue); its submission id and attempt."""
    attempt = connection.execute(
        "SELECT max(attempt) FROM submissions WHERE experiment_id = ?", (parent.experiment_id,)
    ).fetchone()[0] + 1
    submission_id = writes.insert(connection, "submissions", {
        "experiment_id": parent.experiment_id, "script_id": parent.script_id, "attempt": attempt,
        "argv": ["sbatch", parent.script_path], "log_path": log_path, "state": states.RUNNING, "job_id": job_id,
        "intended_at": submitted_at or now, "submitted_at": submitted_at or now, "updated_at": now, "node": node,
        "started_at": now, "origin": "chain", "parent_submission_id": parent.id,
    })
    writes.add_state_change(connection, submission_id, states.RUNNING, now, detail)
    return submission_id, attempt


def note(connection: sqlite3.Connection, submission_id: int, now: datetime, detail: str) -> None:
    """What the guard did at a start, as a line of the attempt's history (`show`), in the state the job is in
    as it speaks: running. The submission's own state is left to sync, which reads it from Slurm."""
    writes.add_state_change(connection, submission_id, states.RUNNING, now, detail)


def recorded_job(connection: sqlite3.Connection, job_id: str) -> int | None:
    """The submission that holds this job id, if any does: the same job is never recorded twice."""
    row = connection.execute("SELECT id FROM submissions WHERE job_id = ? ORDER BY id DESC LIMIT 1",
                             (job_id,)).fetchone()
    return None if row is None else row[0]
