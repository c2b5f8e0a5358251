"""What `pbt-track serve` reads: the rows of the growing tables newer than the page holds, and one experiment's scripts.

A page follows a record that other processes write (watch, report, a cron
sync). The tables that grow with a run (iterations, replacements, keeper
decisions, state changes) are read from after the newest id already read,
so an update costs what changed, not what the record holds. Times the page
compares or places on an axis come as seconds since the epoch, computed by
SQLite from the same text for every table, so that they compare exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from pbt_tracker import settings
from pbt_tracker.store import schema
from pbt_tracker.store.journal import read_only_connection
from pbt_tracker.store.selection import Selection
from pbt_tracker.store.selections import column_list, marks, selected_as

__all__ = [
    "AttemptRow", "ChangeRow", "DecisionRow", "ExperimentDetail", "ExperimentRow", "HistoryRow", "Newest",
    "ReplacementRow", "ScriptRow", "SyncTimes", "attempts", "changes_after", "decisions_after", "experiment",
    "experiments", "history_after", "newest", "params_of", "replacements_after", "scripts_of", "schema_is_newer",
    "sync_times",
]

_EPOCH = "(julianday({}) - 2440587.5) * 86400.0"
_CHUNK = 20_000


def _epoch(column: str) -> str:
    return _EPOCH.format(column)


class Newest(NamedTuple):
    """The newest id of each growing table: where the next read starts."""

    iteration: int
    replacement: int
    decision: int
    change: int
    experiment: int


def newest(connection: sqlite3.Connection) -> Newest:
    """Each a lookup of the table's last rowid, whatever the table holds."""
    row = connection.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM pbt_iterations), (SELECT coalesce(max(id), 0) FROM pbt_events), "
        "(SELECT coalesce(max(id), 0) FROM keeper_decisions), (SELECT coalesce(max(id), 0) FROM state_changes), "
        "(SELECT coalesce(max(id), 0) FROM experiments)"
    ).fetchone()
    return Newest(*row)


class ShownExperiment(NamedTuple):
    """An experiment a report shows (its launch's newest of its name), as the page keys it."""

    experiment_id: int
    launch_id: int
    name: str


_SHOWN = column_list(ShownExperiment._fields, experiment_id="e.id", launch_id="l.id", name="e.name")


def shown_experiments(connection: sqlite3.Connection) -> list[ShownExperiment]:
    return selected_as(connection, Selection(), _SHOWN, ShownExperiment)


class HistoryRow(NamedTuple):
    """One copied iteration file; `written` is its modification time in seconds since the epoch."""

    id: int
    experiment_id: int
    policy: int
    iteration: int
    objective: float | None
    life: str | None  # the experiment name the file carries
    written: float | None
    best_copy: int  # 1 for a ``best<idx>`` copy a policy keeps of another's file


def history_after(connection: sqlite3.Connection, after: int, upto: int) -> Iterator[list[tuple]]:
    """The iteration files copied after id `after` up to `upto`, in the order they were copied, in chunks of
    plain tuples in HistoryRow's order.

    A long run holds hundreds of thousands of them: chunks keep the memory a
    read needs to one chunk's, and plain tuples (as `store.plot.own_iterations`
    hands them out) spare building an object per row on top of each row read.
    """
    cursor = connection.execute(
        f"SELECT id, experiment_id, policy, iteration, true_objective, experiment_name, {_epoch('file_mtime')}, "
        "file_key LIKE 'best%' FROM pbt_iterations WHERE id > ? AND id <= ? ORDER BY id",
        (after, upto),
    )
    while chunk := cursor.fetchmany(_CHUNK):
        yield chunk


def params_of(connection: sqlite3.Connection, iteration_ids: list[int]) -> dict[int, str | None]:
    """The hyperparameters (JSON text) of these iteration files: only the few a table shows are read."""
    return dict(connection.execute(
        f"SELECT id, params FROM pbt_iterations WHERE id IN ({marks(iteration_ids)})", iteration_ids
    ).fetchall()) if iteration_ids else {}


class ReplacementRow(NamedTuple):
    """A policy took `donor`'s weights after `iteration`, as its attempt's log said."""

    id: int
    experiment_id: int
    policy: int
    donor: int | None
    iteration: int | None
    attempt: int
    attempt_started: float | None
    observed_at: str


def replacements_after(connection: sqlite3.Connection, after: int, upto: int) -> list[ReplacementRow]:
    return [ReplacementRow._make(row) for row in connection.execute(
        f"SELECT ev.id, s.experiment_id, ev.policy, ev.donor, ev.iteration, s.attempt, {_epoch('s.started_at')}, "
        "ev.observed_at FROM pbt_events AS ev JOIN submissions AS s ON s.id = ev.submission_id "
        "WHERE ev.id > ? AND ev.id <= ? ORDER BY ev.id",
        (after, upto),
    )]


class AttemptRow(NamedTuple):
    experiment_id: int
    attempt: int
    state: str
    exit_code: int | None
    exit_signal: int | None
    started: float | None
    ended: float | None


def attempts(connection: sqlite3.Connection, experiment_ids: list[int]) -> list[AttemptRow]:
    """Every attempt of these experiments, in attempt order: where a chart marks resumes, crashes and cancels."""
    if not experiment_ids:
        return []
    return [AttemptRow._make(row) for row in connection.execute(
        f"SELECT experiment_id, attempt, state, exit_code, exit_signal, {_epoch('started_at')}, {_epoch('ended_at')} "
        f"FROM submissions WHERE experiment_id IN ({marks(experiment_ids)}) ORDER BY experiment_id, attempt",
        experiment_ids,
    )]


class ExperimentRow(NamedTuple):
    id: int
    launch_id: int
    name: str
    run_name: str
    params: str | None
    cmd: str


def experiments(connection: sqlite3.Connection, ids: list[int]) -> list[ExperimentRow]:
    if not ids:
        return []
    return [ExperimentRow._make(row) for row in connection.execute(
        "SELECT e.id, e.launch_id, e.name, l.run_name, e.params, e.cmd FROM experiments AS e "
        f"JOIN launches AS l ON l.id = e.launch_id WHERE e.id IN ({marks(ids)}) ORDER BY e.id",
        ids,
    )]


class DecisionRow(NamedTuple):
    id: int
    decided_at: str
    experiment: str | None
    attempt: int | None
    action: str
    reason: str
    outcome: str | None


def decisions_after(connection: sqlite3.Connection, after: int, limit: int) -> list[DecisionRow]:
    """The newest `limit` of the keeper's decisions after id `after`, newest first."""
    return [DecisionRow._make(row) for row in connection.execute(
        "SELECT d.id, d.decided_at, e.name, s.attempt, d.action, d.reason, json_extract(d.detail, '$.outcome') "
        "FROM keeper_decisions AS d LEFT OUTER JOIN experiments AS e ON e.id = d.experiment_id "
        "LEFT OUTER JOIN submissions AS s ON s.id = d.submission_id WHERE d.id > ? ORDER BY d.id DESC LIMIT ?",
        (after, limit),
    )]


class ChangeRow(NamedTuple):
    id: int
    observed_at: str
    experiment_id: int
    experiment: str
    attempt: int
    job_id: str | None
    state: str
    exit_code: int | None
    detail: str | None


def changes_after(connection: sqlite3.Connection, after: int, limit: int) -> list[ChangeRow]:
    """The newest `limit` state changes of any attempt after id `after`, newest first."""
    return [ChangeRow._make(row) for row in connection.execute(
        "SELECT c.id, c.observed_at, e.id, e.name, s.attempt, s.job_id, c.state, s.exit_code, c.detail "
        "FROM state_changes AS c JOIN submissions AS s ON s.id = c.submission_id "
        "JOIN experiments AS e ON e.id = s.experiment_id WHERE c.id > ? ORDER BY c.id DESC LIMIT ?",
        (after, limit),
    )]


class SyncTimes(NamedTuple):
    """When a scheduler last answered a sync, and when anything in the record last changed (UTC text)."""

    answered: str | None
    changed: str | None


def sync_times(connection: sqlite3.Connection) -> SyncTimes:
    """An attempt's state, exit code, node and times change only with its updated_at (`writes.change_state`), so
    the latest of those says when the table last changed. The history's and the keeper's newest rows are their
    latest (each is written with the time it was made): their last rowid is looked up rather than every row read."""
    row = connection.execute(
        "SELECT (SELECT max(answered_at) FROM sync_runs), max(coalesce((SELECT max(updated_at) FROM submissions), ''), "
        "coalesce((SELECT observed_at FROM pbt_iterations ORDER BY id DESC LIMIT 1), ''), "
        "coalesce((SELECT decided_at FROM keeper_decisions ORDER BY id DESC LIMIT 1), ''))"
    ).fetchone()
    return SyncTimes(row[0], row[1] or None)


class ExperimentDetail(NamedTuple):
    """One experiment as its page heads it; `as_row` gives what `report.logs.locate` reads."""

    id: int
    name: str
    base_name: str | None
    params: str | None
    cmd: str
    train_dir: str
    launch_id: int
    run_name: str
    backend: str
    cwd: str | None


def experiment(connection: sqlite3.Connection, experiment_id: int) -> ExperimentDetail | None:
    row = connection.execute(
        "SELECT e.id, e.name, e.base_name, e.params, e.cmd, e.train_dir, e.launch_id, l.run_name, l.backend, l.cwd "
        "FROM experiments AS e JOIN launches AS l ON l.id = e.launch_id WHERE e.id = ?",
        (experiment_id,),
    ).fetchone()
    return ExperimentDetail._make(row) if row else None


class ScriptRow(NamedTuple):
    path: str
    text: str
    created_at: str


def scripts_of(connection: sqlite3.Connection, experiment_id: int) -> list[ScriptRow]:
    """The scripts written for the experiment: its launch's and each continuation's, oldest first."""
    return [ScriptRow._make(row) for row in connection.execute(
        "SELECT path, text, created_at FROM scripts WHERE experiment_id = ? ORDER BY id", (experiment_id,)
    )]


def schema_is_newer(path: Path) -> bool:
    """Whether a record that cannot be read as it is was written by a newer pbt-track (else by an older one)."""
    connection = read_only_connection(path, settings.busy_timeout())
    try:
        revision = schema.current_revision(connection)
    finally:
        connection.close()
    return revision is not None and revision not in schema.revisions()
