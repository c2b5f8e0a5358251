"""The fake backend's facade: every hook of the seam, each a few lines over `queue`.

Registered as `tests.fakesched.backend:FakeSched`; the registry instantiates
the class on first use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pbt_tracker import states
from pbt_tracker.backends.base import CancelTarget, Resubmitter, Stopped, SyncResult
from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
from pbt_tracker.launch.option_table import Option
from pbt_tracker.launch.options import LaunchOptions
from pbt_tracker.run_description import RunDescription
from pbt_tracker.store import Store, utcnow, writes
from pbt_tracker.store.sync import tracked_jobs
from tests.fakesched import NAME, queue


class FakeSched:
    name = NAME
    title = "FakeSched"
    follows_jobs = True
    requeues_jobs = False
    runs_sbatch_scripts = False
    cancels_before_start = False
    settles_lost_answers = False
    cancel_advice: str | None = None
    report_note: str | None = None
    log_advice: str | None = "FakeSched runs nothing, so its jobs leave no log"

    def option_rows(self) -> tuple[Option, ...]:
        from tests.fakesched.options import OPTIONS

        return OPTIONS

    def common_defaults(self) -> Mapping[str, Any]:
        return {"pause_between": 0.0}

    def launch_options(self, settled: dict[str, Any], recorded: bool) -> LaunchOptions:
        from tests.fakesched.options import fake_launch_options

        return fake_launch_options(settled, recorded)

    def launch(self, run_description: RunDescription, options: LaunchOptions, compact: bool, verbose: bool) -> int:
        from tests.fakesched.launch import launch_fake

        return launch_fake(run_description, options)  # type: ignore[arg-type]

    def sync(self, store: Store, result: SyncResult) -> None:
        _read_states(store, None, result)

    def settle_cancelled(self, store: Store, submission_ids: list[int], result: SyncResult,
                         settling: Any = None) -> None:
        _read_states(store, submission_ids, result)

    def jobs_changed(self, store: Store) -> None:
        from tests.fakesched.launch import write_active

        write_active(store)

    def check_cancel(self, targets: list[CancelTarget]) -> None:
        """Its queue file is reachable wherever the workdir is."""

    def cancel_command(self, targets: list[CancelTarget]) -> list[str]:
        return []

    def mark_cancelling(self, connection: sqlite3.Connection, targets: list[CancelTarget], now: datetime) -> None:
        """Nothing before the scheduler has accepted."""

    def stop(self, store: Store, targets: list[CancelTarget], settle: bool = False) -> Stopped:
        by_job = {target.job_id: target.submission_id for target in targets if target.job_id}
        accepted, refused = queue.cancel(store.workdir, list(by_job))
        return Stopped([by_job[job_id] for job_id in accepted], refused)

    def resubmitter(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> Resubmitter:
        from tests.fakesched.launch import FakeResubmitter

        return FakeResubmitter(store, request, result)

    def check_available(self) -> None:
        """Its scheduler is a file: always there."""


def _read_states(store: Store, submission_ids: list[int] | None, result: SyncResult) -> None:
    """One listing of the jobs on record that may change (or only these); what it shows is recorded."""
    with store.read() as connection:
        rows = tracked_jobs(connection, NAME, submission_ids)
    result.asked += len(rows)
    if not rows:
        return
    result.scheduler_calls += 1
    listed = queue.listing(store.workdir, [row.job_id for row in rows])
    now = utcnow()
    changes = []
    for row in rows:
        job = listed.get(row.job_id)
        if job is None or job["state"] == row.state:
            continue
        values = {"exit_code": job["exit_code"]}
        if job["started"]:
            values["started_at"] = datetime.fromisoformat(job["started"])
        if job["ended"]:
            values["ended_at"] = datetime.fromisoformat(job["ended"])
        if job["state"] != states.PENDING:
            values["node"] = "fakenode"
        changes.append((row.id, row.state, job["state"], None, values))
    with store.write() as connection:
        writes.note_answer(connection, NAME, now)
        applied = writes.change_states(connection, changes, now)
    result.changed += sum(applied)
    if any(applied):
        from tests.fakesched.launch import write_active

        write_active(store)
