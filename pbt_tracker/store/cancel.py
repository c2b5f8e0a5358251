"""What `pbt-track cancel` reads of each selected attempt: the job to stop, and whose it is.

A cancel's start-up is timed, so no `from __future__ import annotations`: a
NamedTuple's annotations given as text are each compiled as it is defined.
"""

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from pbt_tracker.store import writes
from pbt_tracker.store.selections import column_list, marks, named_rows, selected_as

if TYPE_CHECKING:
    from pbt_tracker.store.selection import Selection

__all__ = [
    "CancelTarget", "InFlight", "NewCancellation", "cancel_targets", "complete_cancellation", "in_flight",
    "insert_cancellation",
]


class CancelTarget(NamedTuple):
    """A selected attempt as cancel reads it; the backends stop those that may still run."""

    submission_id: int
    experiment: str
    job_id: str | None  # None for a local experiment still queued
    backend: str
    state: str
    host: str | None
    process_start: int | None
    array_tasks: int | None = None  # how many tasks the job's Slurm array has: all of them selected is one scancel


# An array's row holds its whole script before its task count, so reading the count walks the script's overflow
# pages: the counts are read once per array (a subquery with a LIMIT is not flattened into a lookup per task).
_COLUMNS = column_list(
    CancelTarget._fields, submission_id="s.id", experiment="e.name", job_id="s.job_id", backend="l.backend",
    state="s.state", host="s.host", process_start="s.process_start",
    array_tasks="(SELECT a.task_count FROM (SELECT id, task_count FROM slurm_arrays LIMIT -1) AS a "
                "WHERE a.id = s.array_id)",
)


def cancel_targets(connection: sqlite3.Connection, selection: "Selection") -> list[CancelTarget]:
    return selected_as(connection, selection, _COLUMNS, CancelTarget)


class InFlight(NamedTuple):
    """An attempt whose submitter is inside sbatch (or ngc): no job id yet, and one may come any moment."""

    submission_id: int
    experiment: str
    host: str | None
    runner_pid: int | None
    runner_start: int | None


def in_flight(connection: sqlite3.Connection, submission_ids: list[int]) -> list[InFlight]:
    """Which of these attempts are still being sent, with the process that sends them."""
    if not submission_ids:
        return []
    return named_rows(connection.execute(
        "SELECT s.id, e.name, s.host, s.runner_pid, s.runner_start FROM submissions AS s "
        "JOIN experiments AS e ON e.id = s.experiment_id "
        f"WHERE s.state = 'SUBMITTING' AND s.job_id IS NULL AND s.id IN ({marks(submission_ids)}) ORDER BY s.id",
        tuple(submission_ids),
    ), InFlight)


class NewCancellation(NamedTuple):
    """A cancel request as recorded before its command runs: what was selected, which jobs, and the command."""

    selection: dict[str, Any]
    job_ids: list[str]
    argv: list[str]
    requested_at: datetime


def insert_cancellation(connection: sqlite3.Connection, row: NewCancellation) -> int:
    return writes.insert(connection, "cancellations", row._asdict())


def complete_cancellation(connection: sqlite3.Connection, cancellation_id: int, returncode: int | None,
                          stdout: str | None, stderr: str | None, completed_at: datetime) -> None:
    """The command's answer on its request."""
    writes.update(connection, "cancellations", cancellation_id,
                  {"returncode": returncode, "stdout": stdout, "stderr": stderr, "completed_at": completed_at})
