"""The statements about whole launches: one launch as a command checks it, the summaries `launches` lists,
and the array scripts a Slurm launch recorded."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from pbt_tracker import states
from pbt_tracker.store.selections import column_list, marks, named_rows

__all__ = [
    "Launch", "LaunchSummaryRow", "SlurmArray", "launch", "launch_experiment_names", "launch_live_count",
    "launch_summaries", "slurm_array",
]


class Launch(NamedTuple):
    """A launch as forget, purge and submitting a preview check it."""

    id: int
    run_name: str
    backend: str
    options: str  # JSON
    uuid: str | None
    print_only: int  # 0 or 1
    forgotten_at: str | None


def launch(connection: sqlite3.Connection, launch_id: int) -> Launch | None:
    row = connection.execute(f"SELECT {', '.join(Launch._fields)} FROM launches WHERE id = ?", (launch_id,)).fetchone()
    return None if row is None else Launch._make(row)


class LaunchSummaryRow(NamedTuple):
    id: int
    created_at: str
    run_name: str
    backend: str
    hostname: str
    print_only: int  # 0 or 1
    forgotten_at: str | None
    experiments: int
    states: str | None  # `STATE=N` pairs, comma-separated, for the latest attempt of each of its experiments


_SUMMARY = column_list(
    LaunchSummaryRow._fields, id="l.id", created_at="l.created_at", run_name="l.run_name", backend="l.backend",
    hostname="l.hostname", print_only="l.print_only", forgotten_at="l.forgotten_at",
    experiments="(SELECT count(*) FROM experiments AS e WHERE e.launch_id = l.id)",
    states="(SELECT group_concat(state || '=' || n) FROM (SELECT s.state, count(*) AS n FROM submissions AS s "
           "  JOIN experiments AS e ON e.id = s.experiment_id WHERE e.launch_id = l.id AND s.attempt = "
           "  (SELECT max(attempt) FROM submissions AS s2 WHERE s2.experiment_id = s.experiment_id) "
           "  GROUP BY s.state ORDER BY s.state))",
)


def launch_summaries(connection: sqlite3.Connection, include_forgotten: bool) -> list[LaunchSummaryRow]:
    """One row per launch, oldest first, its experiments counted and the states of their latest attempts."""
    return named_rows(connection.execute(
        f"SELECT {_SUMMARY} FROM launches AS l" + ("" if include_forgotten else " WHERE l.forgotten_at IS NULL")
        + " ORDER BY l.id",
    ), LaunchSummaryRow)


def launch_live_count(connection: sqlite3.Connection, launch_id: int) -> int:
    """How many of a launch's submissions may still run."""
    active = sorted(states.MAY_BE_ACTIVE)
    return connection.execute(
        "SELECT count(*) FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        f"WHERE e.launch_id = ? AND s.state IN ({marks(active)})",
        (launch_id, *active),
    ).fetchone()[0]


def launch_unidentified_count(connection: sqlite3.Connection, launch_id: int, uncertain_too: bool) -> int:
    """How many of a launch's submissions a scheduler accepted without a job id pbt-track could read, and with
    `uncertain_too` those it may have accepted (a backend whose sync cannot settle a lost answer).

    No sync can settle them; they count as live until the user says they have ended.
    """
    wanted = (states.SUBMITTED, states.SUBMIT_UNCERTAIN if uncertain_too else states.SUBMITTED)
    return connection.execute(
        "SELECT count(*) FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        "WHERE e.launch_id = ? AND s.state IN (?, ?) AND s.job_id IS NULL",
        (launch_id, *wanted),
    ).fetchone()[0]


def launch_experiment_names(connection: sqlite3.Connection, launch_id: int) -> list[str]:
    return [name for (name,) in connection.execute(
        "SELECT name FROM experiments WHERE launch_id = ? ORDER BY position", (launch_id,)
    )]


class SlurmArray(NamedTuple):
    """An array's script and sbatch command as a preview recorded them."""

    launch_id: int
    path: str
    text: str
    sha256: str
    argv: str  # JSON
    task_count: int


def slurm_array(connection: sqlite3.Connection, array_id: int) -> SlurmArray:
    (row,) = connection.execute(f"SELECT {', '.join(SlurmArray._fields)} FROM slurm_arrays WHERE id = ?", (array_id,))
    return SlurmArray._make(row)
