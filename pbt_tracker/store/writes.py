"""What the commands write to the record: new rows, and the changes a submission goes through.

Every function works inside the caller's write transaction (`Store.write()`),
so that a command decides what belongs together. Values are stored as the
record has always held them: times as UTC text, JSON columns as JSON text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pbt_tracker.store.connection import sql_time
from pbt_tracker.store.selections import marks

if TYPE_CHECKING:
    from pbt_tracker.store.run_values import RunValues


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sql_time(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def insert_many(
    connection: sqlite3.Connection, table: str, rows: list[dict[str, Any]], *, or_ignore: bool = False
) -> None:
    """Rows that share their keys, in one executemany; `or_ignore` skips those a unique key already holds."""
    if not rows:
        return
    columns = list(rows[0])
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    statement = f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks(columns)})"
    connection.executemany(statement, [tuple(_value(row[column]) for column in columns) for row in rows])


def insert(connection: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    """One row; its new id."""
    insert_many(connection, table, [row])
    return connection.execute("SELECT last_insert_rowid()").fetchone()[0]


def next_ids(connection: sqlite3.Connection, tables: Iterable[str]) -> dict[str, int]:
    """The id the next row of each table will get, for bulk inserts with ids chosen in advance.

    Only inside a write transaction: it holds the lock, so nobody else can take them.
    """
    return {
        table: (connection.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1 for table in tables
    }


def update(connection: sqlite3.Connection, table: str, row_id: int, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{column} = ?" for column in values)
    connection.execute(
        f"UPDATE {table} SET {assignments} WHERE id = ?", (*(_value(v) for v in values.values()), row_id)
    )


def add_state_change(
    connection: sqlite3.Connection, submission_id: int, state: str, now: datetime, detail: str | None
) -> None:
    connection.execute(
        "INSERT INTO state_changes (submission_id, state, observed_at, detail) VALUES (?, ?, ?, ?)",
        (submission_id, state, sql_time(now), detail),
    )


def add_state_changes(
    connection: sqlite3.Connection, submission_ids: Iterable[int], state: str, now: datetime
) -> None:
    """The first state of many attempts at once, with no detail."""
    stamp = sql_time(now)
    connection.executemany(
        "INSERT INTO state_changes (submission_id, state, observed_at, detail) VALUES (?, ?, ?, NULL)",
        [(submission_id, state, stamp) for submission_id in submission_ids],
    )


def _written(run: RunValues | None, columns: Mapping[str, Any]) -> dict[str, Any]:
    """The columns to set: the run's, and keywords checked against its fields.

    RunValues is imported only when keywords come: a report or a cancel
    imports this module at start-up without changing any state.
    """
    if not columns:
        return run.written() if run is not None else {}
    from pbt_tracker.store.run_values import RunValues

    return (run or RunValues())._replace(**columns).written()


def change_state(
    connection: sqlite3.Connection, submission_id: int, expected: str | None, state: str, now: datetime,
    detail: str | None, run: RunValues | None = None, **columns: Any,
) -> bool:
    """Move a submission to `state` (with the run's columns it sets) only if it still holds `expected`.

    Compare-and-set: of two processes that read the same old state, only the
    first applies its change, so the history never repeats or goes backwards.
    `expected=None` sets unconditionally. The state change is logged only when
    the state differs. The run's columns come as `run` or as keywords, each a
    field of RunValues, so that a misspelt column fails before any SQL is built.
    """
    values = _written(run, columns)
    assignments = _state_assignments(values)
    params: list[Any] = [state, sql_time(now), *(_value(v) for v in values.values()), submission_id]
    sql = f"UPDATE submissions SET {assignments} WHERE id = ?"
    if expected is not None:
        sql += " AND state = ?"
        params.append(expected)
    if connection.execute(sql, params).rowcount == 0:
        return False
    if expected != state:
        add_state_change(connection, submission_id, state, now, detail)
    return True


def change_states(
    connection: sqlite3.Connection,
    changes: list[tuple[int, str | None, str, str | None, RunValues | Mapping[str, Any]]], now: datetime,
) -> list[bool]:
    """Many `change_state` calls at once, as (submission id, expected, state, detail, run values); which applied.

    The run values are RunValues, or a mapping of its fields (checked by making one).

    Each is the same compare-and-set as `change_state`'s, at the price of a
    few statements instead of two per row. Submissions that go through the
    same change (the tasks of an array seen in one record of it) are
    compared, updated and given their history by one statement each
    (`_change_alike`); a caller that gives them one `run` object saves
    reading its values again for each. The others are compared on one read
    of their states: inside the caller's write transaction no other process
    can change them before the updates run.
    """
    if not changes:
        return []
    stamp = sql_time(now)
    written: dict[int, tuple[tuple[str, ...], tuple[Any, ...]]] = {}  # by id(run)
    alike: dict[tuple[Any, ...], list[int]] = {}  # (expected, state, detail, columns, values) -> submissions
    for submission_id, expected, state, detail, run in changes:
        columns_values = written.get(id(run))
        if columns_values is None:
            values = _written(None, run) if isinstance(run, Mapping) else run.written()
            columns_values = written[id(run)] = (tuple(values), tuple(_value(v) for v in values.values()))
        alike.setdefault((expected, state, detail, *columns_values), []).append(submission_id)
    current = _states_of(connection, [ids[0] for ids in alike.values() if len(ids) == 1])
    applied: set[int] = set()
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    logged = []
    for (expected, state, detail, columns, values), ids in alike.items():
        if len(ids) > 1:
            applied.update(_change_alike(connection, ids, expected, state, detail, dict(zip(columns, values)), stamp))
            continue
        (submission_id,) = ids
        if submission_id not in current or expected is not None and current[submission_id] != expected:
            continue
        applied.add(submission_id)
        by_columns.setdefault(columns, []).append((state, stamp, *values, submission_id))
        if expected != state:
            logged.append((submission_id, state, stamp, detail))
    for columns, rows in by_columns.items():
        assignments = _state_assignments(columns)
        connection.executemany(f"UPDATE submissions SET {assignments} WHERE id = ?", rows)
    connection.executemany(
        "INSERT INTO state_changes (submission_id, state, observed_at, detail) VALUES (?, ?, ?, ?)", logged
    )
    return [change[0] in applied for change in changes]


def _states_of(connection: sqlite3.Connection, ids: list[int]) -> dict[int, str]:
    current: dict[int, str] = {}
    for start in range(0, len(ids), 900):  # under SQLite's limit of bound parameters
        chunk = ids[start:start + 900]
        current.update(connection.execute(
            f"SELECT id, state FROM submissions WHERE id IN ({marks(chunk)})", chunk
        ).fetchall())
    return current


def _change_alike(connection: sqlite3.Connection, ids: list[int], expected: str | None, state: str,
                  detail: str | None, values: dict[str, Any], stamp: str) -> list[int]:
    """One change of many submissions, compared by the UPDATE itself, and its history row for each; those it changed.

    Where the UPDATE would change fewer rows than it is given (a submission
    moved on since the caller read it), it is undone, and made again for the
    ones whose states still hold, read first: rare, and never guessed from
    what the rows look like afterwards.
    """
    assignments = _state_assignments(values)
    sql = f"UPDATE submissions SET {assignments} WHERE id IN (SELECT value FROM json_each(?))"
    compared = () if expected is None else (expected,)
    if expected is not None:
        sql += " AND state = ?"
    chosen = json.dumps(ids)
    connection.execute("SAVEPOINT alike_change")
    if connection.execute(sql, (state, stamp, *values.values(), chosen, *compared)).rowcount != len(set(ids)):
        connection.execute("ROLLBACK TO alike_change")
        current = _states_of(connection, list(dict.fromkeys(ids)))
        ids = [submission_id for submission_id in dict.fromkeys(ids)
               if submission_id in current and (expected is None or current[submission_id] == expected)]
        chosen = json.dumps(ids)
        connection.execute(sql, (state, stamp, *values.values(), chosen, *compared))
    connection.execute("RELEASE alike_change")
    if expected != state and ids:
        connection.execute("INSERT INTO state_changes (submission_id, state, observed_at, detail) "
                           "SELECT value, ?, ?, ? FROM json_each(?)", (state, stamp, detail, chosen))
    return ids


def _state_assignments(columns: Iterable[str]) -> str:
    """The SET list of a change of state: the state, when it was written, and the run columns it sets."""
    return ", ".join(["state = ?", "updated_at = ?", *(f"{column} = ?" for column in columns)])


def set_argv(connection: sqlite3.Connection, submission_id: int, argv: list[str]) -> None:
    """The sbatch command as sent: tagged with the submission's own id, known only once its row is in."""
    update(connection, "submissions", submission_id, {"argv": argv})


def set_array_argv(connection: sqlite3.Connection, array_id: int, argv: list[str]) -> None:
    """An array's sbatch command, tagged with the array's id once its row is in."""
    update(connection, "slurm_arrays", array_id, {"argv": argv})


def set_origin(connection: sqlite3.Connection, submission_id: int, origin: str, parent_submission_id: int) -> None:
    """What sent an attempt recorded by a helper that knows only first attempts, and the attempt it follows."""
    update(connection, "submissions", submission_id,
           {"origin": origin, "parent_submission_id": parent_submission_id})


def place_in_array(connection: sqlite3.Connection, submission_id: int, argv: list[str], array_id: int,
                   array_task: int) -> None:
    """A planned attempt sent as task `array_task` of an array; `argv` is its own sbatch command, for a resubmit."""
    update(connection, "submissions", submission_id, {"argv": argv, "array_id": array_id, "array_task": array_task})


def complete_array(
    connection: sqlite3.Connection, array_id: int, state: str, now: datetime, job_id: str | None,
    returncode: int | None, stdout: str | None, stderr: str | None, cluster: str | None, detail: str | None,
) -> None:
    """Settle an array and all its tasks at once: task N of array job A is job A_N."""
    stamp = sql_time(now)
    connection.execute(
        "UPDATE slurm_arrays SET job_id = ?, submit_returncode = ?, submit_stdout = ?, submit_stderr = ?, "
        "submitted_at = ? WHERE id = ?",
        (job_id, returncode, stdout, stderr, stamp if job_id else None, array_id),
    )
    connection.execute(
        "UPDATE submissions SET state = ?, updated_at = ?, submit_returncode = ?, submit_stdout = ?, "
        "submit_stderr = ?, job_id = CASE WHEN ? IS NULL THEN NULL ELSE ? || '_' || array_task END, "
        "cluster = ?, submitted_at = ? WHERE array_id = ?",
        (state, stamp, returncode, stdout, stderr, job_id, job_id, cluster, stamp if job_id else None, array_id),
    )
    connection.execute(
        "INSERT INTO state_changes (submission_id, state, observed_at, detail) "
        "SELECT id, ?, ?, ? FROM submissions WHERE array_id = ? ORDER BY id",
        (state, stamp, detail, array_id),
    )


def request_cancel(connection: sqlite3.Connection, submission_ids: Iterable[int], now: datetime) -> None:
    """One statement for the whole population: the ids travel as one JSON array."""
    connection.execute(
        "UPDATE submissions SET cancel_requested_at = ? WHERE id IN (SELECT value FROM json_each(?))",
        (sql_time(now), json.dumps(list(submission_ids))),
    )


def forget_launch(connection: sqlite3.Connection, launch_id: int, now: datetime) -> None:
    connection.execute("UPDATE launches SET forgotten_at = ? WHERE id = ?", (sql_time(now), launch_id))


def delete_launch(connection: sqlite3.Connection, launch_id: int) -> None:
    """A launch and, by the schema's cascades, its experiments, scripts, submissions, arrays and their history."""
    connection.execute("DELETE FROM launches WHERE id = ?", (launch_id,))


def note_answer(connection: sqlite3.Connection, backend: str, now: datetime) -> None:
    """The scheduler answered a sync: the states on record are as of now."""
    connection.execute(
        "INSERT INTO sync_runs (backend, answered_at) VALUES (?, ?) "
        "ON CONFLICT (backend) DO UPDATE SET answered_at = excluded.answered_at",
        (backend, sql_time(now)),
    )
