"""The statement `pbt-track continue` needs beyond the shared selections: a job's own continuation."""

from __future__ import annotations

import sqlite3

__all__ = ["continuation_of"]


def continuation_of(connection: sqlite3.Connection, submission_id: int) -> sqlite3.Row | None:
    """The attempt a job already asked for (origin 'continue', this one its parent), if any."""
    cursor = connection.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(
        "SELECT id, attempt, job_id, state FROM submissions WHERE parent_submission_id = ? AND origin = 'continue' "
        "ORDER BY id DESC LIMIT 1",
        (submission_id,),
    ).fetchone()
