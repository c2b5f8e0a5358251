"""The keeper's statements: its decisions, its lease, and what it reads of attempts and PBT history.

Each function works inside the caller's transaction. The lease is one row
(id 1): taking it is a read and a write in one `BEGIN IMMEDIATE`
transaction, so of two keepers starting at once only one finds it free.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from pbt_tracker import states
from pbt_tracker.store.connection import fetch_rows, sql_time
from pbt_tracker.store.selections import marks

KEEPER_RUN = "pbt-track-keeper"
"""Run name of the keeper's own Slurm job, recorded like any launch and never kept alive by itself."""


def record_decision(
    connection: sqlite3.Connection, keeper: str, action: str, reason: str, now: datetime,
    experiment_id: int | None = None, submission_id: int | None = None, detail: dict[str, Any] | None = None,
) -> int:
    connection.execute(
        "INSERT INTO keeper_decisions (decided_at, keeper, experiment_id, submission_id, action, reason, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (sql_time(now), keeper, experiment_id, submission_id, action, reason,
         json.dumps(detail) if detail is not None else None),
    )
    return connection.execute("SELECT last_insert_rowid()").fetchone()[0]


def note_outcome(connection: sqlite3.Connection, decision_id: int, outcome: str) -> None:
    """What acting on a decision gave, added to its detail once done."""
    connection.execute(
        "UPDATE keeper_decisions SET detail = json_set(coalesce(detail, '{}'), '$.outcome', ?) WHERE id = ?",
        (outcome, decision_id),
    )


def decisions_on(connection: sqlite3.Connection, submission_ids: list[int]) -> list[sqlite3.Row]:
    """Every decision taken about these attempts, oldest first."""
    if not submission_ids:
        return []
    return fetch_rows(
        connection,
        "SELECT id, submission_id, action, reason, detail FROM keeper_decisions "
        f"WHERE submission_id IN ({marks(submission_ids)}) ORDER BY id",
        tuple(submission_ids),
    )


def latest_decisions(connection: sqlite3.Connection) -> dict[tuple[int, str], sqlite3.Row]:
    """Each experiment's latest decision, by (launch id, experiment name) as reports name experiments."""
    rows = fetch_rows(
        connection,
        "SELECT e.launch_id, e.name, d.decided_at, d.action, d.reason FROM keeper_decisions AS d "
        "JOIN experiments AS e ON e.id = d.experiment_id WHERE d.id IN "
        "(SELECT max(id) FROM keeper_decisions WHERE experiment_id IS NOT NULL GROUP BY experiment_id)",
    )
    return {(row["launch_id"], row["name"]): row for row in rows}


def read_lease(connection: sqlite3.Connection) -> sqlite3.Row | None:
    rows = fetch_rows(connection, "SELECT holder, host, pid, acquired_at, expires_at FROM keeper_lease WHERE id = 1")
    return rows[0] if rows else None


def take_lease(
    connection: sqlite3.Connection, holder: str, host: str, pid: int, now: datetime, expires_at: datetime,
) -> sqlite3.Row | None:
    """Take or renew the lease; None on success, else the row of the keeper that holds it."""
    current = read_lease(connection)
    if current is not None and current["holder"] != holder and current["expires_at"] > sql_time(now):
        return current
    acquired = current["acquired_at"] if current is not None and current["holder"] == holder else sql_time(now)
    connection.execute(
        "INSERT INTO keeper_lease (id, holder, host, pid, acquired_at, expires_at) VALUES (1, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, "
        "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
        (holder, host, pid, acquired, sql_time(expires_at)),
    )
    return None


def release_lease(connection: sqlite3.Connection, holder: str) -> None:
    connection.execute("DELETE FROM keeper_lease WHERE id = 1 AND holder = ?", (holder,))


def iteration_history(connection: sqlite3.Connection, experiment_id: int) -> list[tuple[int, str]]:
    """(iteration, observed_at) of every iteration file sync copied for the experiment."""
    return connection.execute(
        "SELECT iteration, observed_at FROM pbt_iterations WHERE experiment_id = ? ORDER BY observed_at, iteration",
        (experiment_id,),
    ).fetchall()


def add_iteration(
    connection: sqlite3.Connection, experiment_id: int, policy: int, iteration: int, observed_at: datetime,
    true_objective: float | None = None,
) -> None:
    """One iteration of a policy's history, as sync copies it from the workspace."""
    connection.execute(
        "INSERT INTO pbt_iterations (experiment_id, policy, iteration, true_objective, file_key, observed_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (experiment_id, policy, iteration, true_objective, f"{policy:03d}/{iteration:06d}.yaml@{observed_at}",
         sql_time(observed_at)),
    )


def keeper_launch(connection: sqlite3.Connection) -> sqlite3.Row | None:
    """The launch that records the keeper's own jobs, with its one experiment and latest attempt."""
    rows = fetch_rows(
        connection,
        "SELECT l.id AS launch_id, l.uuid, e.id AS experiment_id, "
        "(SELECT max(attempt) FROM submissions WHERE experiment_id = e.id) AS attempt "
        "FROM launches AS l JOIN experiments AS e ON e.launch_id = l.id WHERE l.run_name = ? ORDER BY l.id LIMIT 1",
        (KEEPER_RUN,),
    )
    return rows[0] if rows else None


def active_keeper_jobs(connection: sqlite3.Connection) -> list[str]:
    """Job ids of keeper jobs that may still run or wait in the queue."""
    active = sorted(states.MAY_BE_ACTIVE)
    return [job_id for (job_id,) in connection.execute(
        "SELECT s.job_id FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        f"JOIN launches AS l ON l.id = e.launch_id WHERE l.run_name = ? AND s.state IN ({marks(active)}) ORDER BY s.id",
        (KEEPER_RUN, *active),
    )]
