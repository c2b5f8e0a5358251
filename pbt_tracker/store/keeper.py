"""The keeper's decisions: each one recorded before it is acted on, and the latest per experiment, which
`report` shows.

Each function works inside the caller's transaction. No `from __future__
import annotations` here: a report imports this module, and a NamedTuple's
annotations given as text are each compiled as it is defined.
"""

import json
import sqlite3
from datetime import datetime
from typing import Any, NamedTuple

from pbt_tracker.store.connection import sql_time
from pbt_tracker.store.selections import column_list, named_rows

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
    rows = named_rows(connection.execute(
        f"SELECT {_LATEST_DECISION} FROM keeper_decisions AS d JOIN experiments AS e ON e.id = d.experiment_id "
        "WHERE d.id IN (SELECT max(id) FROM keeper_decisions WHERE experiment_id IS NOT NULL GROUP BY experiment_id)",
    ), LatestDecision)
    return {(row.launch_id, row.name): row for row in rows}
