"""The statements of the PBT history: iteration files copied into pbt_iterations, log events into pbt_events.

Both tables only grow, and a row is named by where it came from (a file
version, a place in a log), so copying the same thing twice inserts nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from pbt_tracker.store.new_rows import insert_unread
from pbt_tracker.store.selections import column_list, marks, named_rows

__all__ = [
    "LogToRead", "NewEvent", "NewIteration", "PbtExperiment", "PolicyIteration", "copied_file_keys", "insert_events",
    "insert_iterations", "iterations_of_launches", "logs_to_read", "pbt_experiments", "set_log_read_offset",
]


class PolicyIteration(NamedTuple):
    """One copied iteration file of a launch's policy; a ``best<idx>`` copy's `file_key` starts with best."""

    launch_id: int
    experiment_id: int
    policy: int
    iteration: int
    true_objective: float | None
    experiment_name: str | None
    params: str | None  # JSON
    file_key: str
    file_mtime: str


_POLICY_ITERATION = column_list(
    PolicyIteration._fields, launch_id="e.launch_id", experiment_id="i.experiment_id", policy="i.policy",
    iteration="i.iteration", true_objective="i.true_objective", experiment_name="i.experiment_name",
    params="i.params", file_key="i.file_key", file_mtime="i.file_mtime",
)


_NAMES_A_WORKSPACE = "e.cmd LIKE '%pbt.workspace=%'"


class PbtExperiment(NamedTuple):
    """An experiment whose command names a PBT workspace, with what its workspace is found by."""

    id: int
    cmd: str
    params: str  # JSON
    train_dir: str
    cwd: str | None


_PBT_EXPERIMENT = column_list(PbtExperiment._fields, id="e.id", cmd="e.cmd", params="e.params",
                              train_dir="e.train_dir", cwd="l.cwd")


def pbt_experiments(connection: sqlite3.Connection) -> list[PbtExperiment]:
    return named_rows(connection.execute(
        f"SELECT {_PBT_EXPERIMENT} FROM experiments AS e "
        f"JOIN launches AS l ON l.id = e.launch_id WHERE {_NAMES_A_WORKSPACE} ORDER BY e.id",
    ), PbtExperiment)


def has_pbt_experiments(connection: sqlite3.Connection) -> bool:
    """Whether `pbt_experiments` could return anything: a sync imports the history copy only then."""
    return connection.execute(
        f"SELECT EXISTS (SELECT 1 FROM experiments AS e WHERE {_NAMES_A_WORKSPACE})"
    ).fetchone()[0] == 1


def copied_file_keys(connection: sqlite3.Connection, experiment_ids: Iterable[int]) -> set[str]:
    ids = list(experiment_ids)
    if not ids:
        return set()
    rows = connection.execute(
        f"SELECT file_key FROM pbt_iterations WHERE experiment_id IN ({marks(ids)})", ids
    )
    return {key for (key,) in rows}


class NewIteration(NamedTuple):
    """An iteration file as sync copies it, under the experiment that runs its policy (a best copy: its keeper's)."""

    experiment_id: int
    policy: int
    iteration: int
    true_objective: float | None
    frame: int | None
    experiment_name: str | None
    params: dict[str, object]
    checkpoint: str
    file_key: str  # its name and modification time: the version copied
    file_mtime: datetime
    observed_at: datetime


def insert_iterations(connection: sqlite3.Connection, rows: list[NewIteration]) -> int:
    """The files not copied before (a file version already copied is left as it is); the number inserted."""
    return insert_unread(connection, "pbt_iterations", rows)


class LogToRead(NamedTuple):
    """An attempt with a log: its pattern (Slurm's %j in it), job id and how far it was read."""

    id: int  # the submission's
    log_path: str
    job_id: str
    log_read_offset: int | None


def logs_to_read(connection: sqlite3.Connection, experiment_ids: Iterable[int]) -> list[LogToRead]:
    """The attempts of these experiments that have a log."""
    ids = list(experiment_ids)
    if not ids:
        return []
    return named_rows(connection.execute(
        f"SELECT {', '.join(LogToRead._fields)} FROM submissions WHERE log_path IS NOT NULL "
        f"AND job_id IS NOT NULL AND experiment_id IN ({marks(ids)}) ORDER BY id",
        ids,
    ), LogToRead)


class NewEvent(NamedTuple):
    """A replacement a policy's log printed, named by where it is in the log."""

    submission_id: int
    policy: int
    donor: int
    iteration: int | None
    checkpoint: str
    log_offset: int
    line: str
    observed_at: datetime


def insert_events(connection: sqlite3.Connection, rows: list[NewEvent]) -> int:
    """The events not read before; the number inserted."""
    return insert_unread(connection, "pbt_events", rows)


def set_log_read_offset(connection: sqlite3.Connection, submission_id: int, offset: int) -> None:
    connection.execute("UPDATE submissions SET log_read_offset = ? WHERE id = ?", (offset, submission_id))


def iterations_of_launches(connection: sqlite3.Connection, launch_ids: Iterable[int]) -> list[PolicyIteration]:
    """The copied history of these launches' policies, best copies included."""
    ids = list(launch_ids)
    if not ids:
        return []
    return named_rows(connection.execute(
        f"SELECT {_POLICY_ITERATION} FROM pbt_iterations AS i JOIN experiments AS e ON e.id = i.experiment_id "
        f"WHERE e.launch_id IN ({marks(ids)})",
        ids,
    ), PolicyIteration)
