"""The keeper's statements: its decisions, its lease, and the launch of its own jobs.

Each function works inside the caller's transaction. The lease is one row
(id 1): taking it is a read and a write in one `BEGIN IMMEDIATE`
transaction, so of two keepers starting at once only one finds it free.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, NamedTuple

from pbt_tracker import states
from pbt_tracker.store.connection import sql_time
from pbt_tracker.store.selections import column_list, marks

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


class LatestDecision(NamedTuple):
    launch_id: int
    name: str  # the experiment's
    decided_at: str
    action: str
    reason: str


_LATEST_DECISION = column_list(LatestDecision._fields, launch_id="e.launch_id", name="e.name",
                               decided_at="d.decided_at", action="d.action", reason="d.reason")


def latest_decisions(connection: sqlite3.Connection) -> dict[tuple[int, str], LatestDecision]:
    """Each experiment's latest decision, by (launch id, experiment name) as reports name experiments."""
    rows = map(LatestDecision._make, connection.execute(
        f"SELECT {_LATEST_DECISION} FROM keeper_decisions AS d JOIN experiments AS e ON e.id = d.experiment_id "
        "WHERE d.id IN (SELECT max(id) FROM keeper_decisions WHERE experiment_id IS NOT NULL GROUP BY experiment_id)",
    ))
    return {(row.launch_id, row.name): row for row in rows}


class LeaseHolder(NamedTuple):
    holder: str
    host: str
    pid: int
    acquired_at: str
    expires_at: str


def read_lease(connection: sqlite3.Connection) -> LeaseHolder | None:
    row = connection.execute(f"SELECT {', '.join(LeaseHolder._fields)} FROM keeper_lease WHERE id = 1").fetchone()
    return None if row is None else LeaseHolder._make(row)


def take_lease(
    connection: sqlite3.Connection, holder: str, host: str, pid: int, now: datetime, expires_at: datetime,
) -> LeaseHolder | None:
    """Take or renew the lease; None on success, else the keeper that holds it."""
    current = read_lease(connection)
    if current is not None and current.holder != holder and current.expires_at > sql_time(now):
        return current
    acquired = current.acquired_at if current is not None and current.holder == holder else sql_time(now)
    connection.execute(
        "INSERT INTO keeper_lease (id, holder, host, pid, acquired_at, expires_at) VALUES (1, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, "
        "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
        (holder, host, pid, acquired, sql_time(expires_at)),
    )
    return None


def release_lease(connection: sqlite3.Connection, holder: str) -> None:
    connection.execute("DELETE FROM keeper_lease WHERE id = 1 AND holder = ?", (holder,))


class KeeperLaunch(NamedTuple):
    launch_id: int
    uuid: str
    experiment_id: int
    attempt: int | None  # its latest; None before the first


_KEEPER_LAUNCH = column_list(KeeperLaunch._fields, launch_id="l.id", uuid="l.uuid", experiment_id="e.id",
                             attempt="(SELECT max(attempt) FROM submissions WHERE experiment_id = e.id)")


def keeper_launch(connection: sqlite3.Connection) -> KeeperLaunch | None:
    """The launch that records the keeper's own jobs, with its one experiment and latest attempt."""
    row = connection.execute(
        f"SELECT {_KEEPER_LAUNCH} FROM launches AS l JOIN experiments AS e ON e.launch_id = l.id "
        "WHERE l.run_name = ? ORDER BY l.id LIMIT 1",
        (KEEPER_RUN,),
    ).fetchone()
    return None if row is None else KeeperLaunch._make(row)


def active_keeper_jobs(connection: sqlite3.Connection) -> list[str]:
    """Job ids of keeper jobs that may still run or wait in the queue."""
    active = sorted(states.MAY_BE_ACTIVE)
    return [job_id for (job_id,) in connection.execute(
        "SELECT s.job_id FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        f"JOIN launches AS l ON l.id = e.launch_id WHERE l.run_name = ? AND s.state IN ({marks(active)}) ORDER BY s.id",
        (KEEPER_RUN, *active),
    )]
