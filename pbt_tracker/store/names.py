"""The names a shell may complete, read on every press of Tab: one small statement each, and nothing else imported."""

from __future__ import annotations

import sqlite3

__all__ = ["distinct_values"]

_SQL = {
    "experiments": "SELECT DISTINCT name FROM experiments WHERE name LIKE ? ESCAPE '\\' ORDER BY name",
    "base_names": "SELECT DISTINCT base_name FROM experiments WHERE base_name LIKE ? ESCAPE '\\' ORDER BY base_name",
    "runs": "SELECT DISTINCT run_name FROM launches WHERE run_name LIKE ? ESCAPE '\\' ORDER BY run_name",
    "job_ids": "SELECT DISTINCT job_id FROM submissions WHERE job_id LIKE ? ESCAPE '\\' ORDER BY id",
    "launches": "SELECT id FROM launches WHERE CAST(id AS TEXT) LIKE ? ESCAPE '\\' ORDER BY id",
}


def distinct_values(connection: sqlite3.Connection, what: str, prefix: str) -> list[str]:
    """Names a shell may complete, or a typo's near misses: `what` is a key of _SQL."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [str(value) for (value,) in connection.execute(_SQL[what], (escaped + "%",)).fetchall()]
