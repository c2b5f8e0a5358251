"""The statements behind `pbt-track plot`: each policy's own iteration files and the replacements its logs printed.

A population of 64 policies over 10,000 iterations is 640,000 rows, so the
iteration files are handed out as a cursor of plain tuples, one experiment
at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from pbt_tracker.store.selections import marks

__all__ = ["own_iterations", "replacements"]

_CHUNK = 500  # ids per statement, well under SQLite's limit on parameters


def own_iterations(connection: sqlite3.Connection, experiment_id: int, frames: bool = True) -> sqlite3.Cursor:
    """(iteration, frame, true_objective, experiment_name, file_mtime) of each of the experiment's own files,
    in iteration order; the frame is None unless `frames` is asked for.

    The ``best<idx>`` copies a policy keeps of others are left out: each is
    already on record as its source policy's own file.
    """
    return connection.execute(
        f"SELECT iteration, {'frame' if frames else 'NULL'}, true_objective, experiment_name, file_mtime "
        "FROM pbt_iterations WHERE experiment_id = ? AND file_key NOT LIKE 'best%' ORDER BY iteration",
        (experiment_id,),
    )


def replacements(connection: sqlite3.Connection, experiment_ids: Sequence[int]) -> list[tuple]:  # type: ignore[type-arg]
    """(experiment_id, policy, donor, iteration, started_at of the attempt whose log said it), in log order."""
    rows: list[tuple] = []  # type: ignore[type-arg]
    for start in range(0, len(experiment_ids), _CHUNK):
        ids = list(experiment_ids[start:start + _CHUNK])
        rows += connection.execute(
            "SELECT s.experiment_id, ev.policy, ev.donor, ev.iteration, s.started_at FROM pbt_events AS ev "
            "JOIN submissions AS s ON s.id = ev.submission_id "
            f"WHERE s.experiment_id IN ({marks(ids)}) ORDER BY s.experiment_id, s.attempt, ev.log_offset",
            ids,
        ).fetchall()
    return rows
