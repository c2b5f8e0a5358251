"""What `pbt-track report` reads of each selected attempt: one named record per submission.

A report may cover a year of launches and is run often, so it reads what it
prints and no more: the columns a PBT policy's workspace is found by are
read only for `--pbt`, and are None in every other report. For the same
start-up, no `from __future__ import annotations`: a NamedTuple's
annotations given as text are each compiled as it is defined.
"""

import sqlite3
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from pbt_tracker.store.selections import column_list, selection_sql

if TYPE_CHECKING:
    from pbt_tracker.store.selection import Selection

__all__ = ["ReportRecord", "report_records"]


class ReportRecord(NamedTuple):
    """A selected submission with its experiment and launch, as the record holds them (times as UTC text)."""

    run: str
    experiment: str
    attempt: int
    job_id: str | None
    state: str
    exit_code: int | None
    started_at: str | None
    ended_at: str | None
    node: str | None
    log_path: str | None
    script: str | None
    launch_id: int
    backend: str
    submitted_at: str | None
    exit_signal: int | None
    pending_reason: str | None
    cancel_requested_at: str | None
    clock_skew: int | None
    partition: str | None
    time_limit: str | None
    # read for --pbt only:
    params: str | None
    cmd: str | None
    train_dir: str | None
    cwd: str | None
    experiment_id: int | None


_SHOWN = {
    "run": "l.run_name", "experiment": "e.name", "attempt": "s.attempt", "job_id": "s.job_id", "state": "s.state",
    "exit_code": "s.exit_code", "started_at": "s.started_at", "ended_at": "s.ended_at", "node": "s.node",
    "log_path": "s.log_path", "script": "sc.path", "launch_id": "l.id", "backend": "l.backend",
    "submitted_at": "s.submitted_at", "exit_signal": "s.exit_signal", "pending_reason": "s.pending_reason",
    "cancel_requested_at": "s.cancel_requested_at", "clock_skew": "s.clock_skew",
    "partition": "s.partition", "time_limit": "s.time_limit",
}
_WORKSPACE = {"params": "e.params", "cmd": "e.cmd", "train_dir": "e.train_dir", "cwd": "l.cwd", "experiment_id": "e.id"}
_COLUMNS = column_list(ReportRecord._fields, **_SHOWN, **dict.fromkeys(_WORKSPACE, "NULL"))
_PBT_COLUMNS = column_list(ReportRecord._fields, **_SHOWN, **_WORKSPACE)


def report_records(connection: sqlite3.Connection, selection: "Selection", pbt: bool = False) -> Iterator[ReportRecord]:
    """The selection's submissions in report order, as the cursor gives them (one at a time: a year of launches
    is read while it is written out); with `pbt`, each with what its policy's workspace is found by."""
    sql, params = selection_sql(selection, _PBT_COLUMNS if pbt else _COLUMNS)
    return map(partial(tuple.__new__, ReportRecord), connection.execute(sql, params))
