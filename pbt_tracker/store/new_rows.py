"""The rows a launch, a resubmission or a continuation adds, as named types: the store alone spells their columns.

Each type's fields are its table's columns (an id is the database's to give,
or `insert_numbered`'s), so the statement's column list is made from the
fields and a value can neither go missing nor land in its neighbour's
column. Values are stored as `writes` stores any value: times as UTC text,
dicts and lists as JSON. No `from __future__ import annotations`: these
types are defined on every launch's start-up, and annotations given as text
are compiled one by one.
"""

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from pbt_tracker.store import writes

__all__ = [
    "FirstIds", "NewExperiment", "NewLaunch", "NewScript", "NewSlurmArray", "NewSubmission", "first_ids", "insert",
    "insert_numbered", "insert_unread",
]


class NewLaunch(NamedTuple):
    """What was run, how, from where and by whom."""

    run_name: str
    run_module: str
    backend: str
    workdir: str
    train_dir: str
    experiment_suffix: str
    options: dict[str, Any]
    template_path: str | None
    template_text: str | None
    print_only: bool
    hostname: str
    username: str
    pbt_track_version: str
    created_at: datetime
    cwd: str
    uuid: str
    group_readable: bool = False  # --group-readable: its files 0640 and folders 0750 instead of 0600 and 0700


class NewExperiment(NamedTuple):
    launch_id: int
    position: int
    name: str
    base_name: str
    cmd: str
    params: dict[str, Any]
    env_vars: dict[str, Any] | None
    root_dir: str
    train_dir: str


class NewScript(NamedTuple):
    """A script as written for an attempt, with the hash a resubmission compares the file on disk with."""

    experiment_id: int
    path: str
    text: str
    sha256: str
    created_at: datetime


class NewSubmission(NamedTuple):
    """An attempt as first recorded: its intent, and, for one found already running, what was seen of it."""

    experiment_id: int
    attempt: int
    argv: list[str]
    state: str
    intended_at: datetime
    updated_at: datetime
    script_id: int | None = None
    log_path: str | None = None
    host: str | None = None
    runner_pid: int | None = None
    runner_start: int | None = None
    origin: str | None = None
    parent_submission_id: int | None = None
    array_id: int | None = None
    array_task: int | None = None
    job_id: str | None = None
    submitted_at: datetime | None = None
    node: str | None = None
    started_at: datetime | None = None
    options: dict[str, Any] | None = None  # launch options sent in place of the launch's (resubmit-failed --slurm_*)


class NewSlurmArray(NamedTuple):
    """One sbatch of many tasks, each a submission that names it."""

    launch_id: int
    path: str
    text: str
    sha256: str
    argv: list[str]
    task_count: int
    intended_at: datetime


NewRow = NewLaunch | NewExperiment | NewScript | NewSubmission | NewSlurmArray

_TABLES: dict[type, str] = {
    NewLaunch: "launches", NewExperiment: "experiments", NewScript: "scripts", NewSubmission: "submissions",
    NewSlurmArray: "slurm_arrays",
}


def insert(connection: sqlite3.Connection, row: NewRow) -> int:
    """One row into its type's table; its new id."""
    return writes.insert(connection, _TABLES[type(row)], row._asdict())


def insert_unread(connection: sqlite3.Connection, table: str, rows: Iterable[NamedTuple]) -> int:
    """Rows named by where they were read (a place in a log, a file version); the number not already there.

    Reading the same place twice (a sync, then a continuation that read the
    log first) must add it once, so a row whose unique key is held is skipped.
    """
    before = connection.total_changes
    writes.insert_many(connection, table, [row._asdict() for row in rows], or_ignore=True)
    return connection.total_changes - before


class FirstIds(NamedTuple):
    """The id the next row of each table a launch fills in bulk will get."""

    experiment: int
    script: int
    submission: int
    slurm_array: int


def first_ids(connection: sqlite3.Connection) -> FirstIds:
    """Only inside a write transaction: it holds the lock, so nobody else can take these ids."""
    first = writes.next_ids(connection, ("experiments", "scripts", "submissions", "slurm_arrays"))
    return FirstIds(first["experiments"], first["scripts"], first["submissions"], first["slurm_arrays"])


def insert_numbered(connection: sqlite3.Connection, rows: Sequence[NewRow], first_id: int) -> None:
    """Rows of one type in one executemany, numbered from `first_id` (see `first_ids`) in their order."""
    if not rows:
        return
    table = _TABLES[type(rows[0])]
    assert all(type(row) is type(rows[0]) for row in rows), "one table at a time"
    writes.insert_many(connection, table, [{"id": first_id + n, **row._asdict()} for n, row in enumerate(rows)])
