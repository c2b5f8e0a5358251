"""What `show`, `logs` and shell completion read: one experiment in full, and the names a shell offers.

An experiment's name is unique within its launch only, so lookups by name
return the newest launch's experiment first.
"""

from __future__ import annotations

import sqlite3

from pbt_tracker.store.connection import fetch_rows
from pbt_tracker.store.selections import marks

_EXPERIMENT = (
    "SELECT e.id, e.name, e.base_name, e.params, e.cmd, e.train_dir, e.launch_id, l.run_name, l.backend, l.cwd "
    "FROM experiments AS e JOIN launches AS l ON l.id = e.launch_id"
)


def experiments_named(connection: sqlite3.Connection, name: str) -> list[sqlite3.Row]:
    """Every experiment of that name, newest launch first."""
    return fetch_rows(connection, f"{_EXPERIMENT} WHERE e.name = ? ORDER BY e.launch_id DESC", (name,))


def experiments_newest_first(connection: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every experiment, newest launch first: the caller picks the one whose policy it wants."""
    return fetch_rows(connection, f"{_EXPERIMENT} ORDER BY e.launch_id DESC, e.position")


def attempts(connection: sqlite3.Connection, experiment_id: int) -> list[sqlite3.Row]:
    """Every submission of the experiment with its script and, for an array task, its array's record."""
    return fetch_rows(
        connection,
        "SELECT s.*, sc.path AS script_path, a.argv AS array_argv, a.job_id AS array_job_id "
        "FROM submissions AS s LEFT OUTER JOIN scripts AS sc ON sc.id = s.script_id "
        "LEFT OUTER JOIN slurm_arrays AS a ON a.id = s.array_id "
        "WHERE s.experiment_id = ? ORDER BY s.attempt",
        (experiment_id,),
    )


def latest_attempt(connection: sqlite3.Connection, experiment_id: int) -> sqlite3.Row | None:
    rows = fetch_rows(
        connection,
        "SELECT s.id, s.attempt, s.state, s.job_id, s.log_path, a.argv AS array_argv "
        "FROM submissions AS s LEFT OUTER JOIN slurm_arrays AS a ON a.id = s.array_id "
        "WHERE s.experiment_id = ? ORDER BY s.attempt DESC LIMIT 1",
        (experiment_id,),
    )
    return rows[0] if rows else None


def state_changes(connection: sqlite3.Connection, submission_id: int) -> list[sqlite3.Row]:
    return fetch_rows(
        connection,
        "SELECT state, observed_at, detail FROM state_changes WHERE submission_id = ? ORDER BY observed_at, id",
        (submission_id,),
    )


def cancellations_naming(connection: sqlite3.Connection, job_ids: list[str], names: list[str]) -> list[sqlite3.Row]:
    """Cancel requests that listed one of the job ids, or whose selection named the experiment."""
    jobs = marks(job_ids) or "NULL"
    named = marks(names) or "NULL"
    return fetch_rows(
        connection,
        "SELECT c.id, c.requested_at, c.argv, c.returncode, c.stderr FROM cancellations AS c "
        f"WHERE EXISTS (SELECT 1 FROM json_each(c.job_ids) WHERE value IN ({jobs})) "
        f"OR EXISTS (SELECT 1 FROM json_each(c.selection, '$.experiments') WHERE value IN ({named})) "
        "ORDER BY c.requested_at, c.id",
        (*job_ids, *names),
    )


def distinct_values(connection: sqlite3.Connection, what: str, prefix: str) -> list[str]:
    """Names a shell may complete: `what` is one of experiments, runs, job_ids, launches."""
    sql = {
        "experiments": "SELECT DISTINCT name FROM experiments WHERE name LIKE ? ESCAPE '\\' ORDER BY name",
        "runs": "SELECT DISTINCT run_name FROM launches WHERE run_name LIKE ? ESCAPE '\\' ORDER BY run_name",
        "job_ids": "SELECT DISTINCT job_id FROM submissions WHERE job_id LIKE ? ESCAPE '\\' ORDER BY id",
        "launches": "SELECT id FROM launches WHERE CAST(id AS TEXT) LIKE ? ESCAPE '\\' ORDER BY id",
    }[what]
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [str(value) for (value,) in connection.execute(sql, (escaped + "%",)).fetchall()]
