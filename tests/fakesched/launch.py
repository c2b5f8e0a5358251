"""The fake backend's launch and resubmission: recorded before anything is sent, as every backend's are.

It writes the launch record with pbt-track's shared helpers (`launch.record`,
`launch.specs`, the store's writes), so that report, cancel and
resubmit-failed read its launches like any other.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import time

from pbt_tracker import processes, states
from pbt_tracker.backends.options import launch_options_from_record
from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
from pbt_tracker.launch.record import SubmittedJob, experiment_values, launch_values
from pbt_tracker.launch.specs import checked_specs
from pbt_tracker.run_description import RunDescription
from pbt_tracker.store import Store, open_store, utcnow, writes
from pbt_tracker.store.new_rows import insert
from tests.fakesched import NAME, queue
from tests.fakesched.options import FakeLaunchOptions

CANCEL_LIST = "fakesched-active.txt"  # what the facade's jobs_changed keeps: the jobs that may still run


def launch_fake(run_description: RunDescription, options: FakeLaunchOptions) -> int:
    specs = checked_specs(run_description, options.train_dir)
    store = open_store(options.workdir)
    try:
        with store.write() as connection:
            launch_id = insert(connection, launch_values(
                store.workdir, run_description, backend=NAME, run_module=options.run_module,
                train_dir=options.train_dir, experiment_suffix=options.experiment_suffix,
                recorded_options=options.recorded_options, template_path=None, template_text=None, print_only=False,
            ))
            intended = []
            for position, spec in enumerate(specs):
                experiment_id = insert(connection, experiment_values(launch_id, position, spec))
                intended.append((_record_attempt(connection, experiment_id, 1, shlex.split(spec.cmd)), spec.name,
                                 shlex.split(spec.cmd)))
        for index, (submission_id, name, argv) in enumerate(intended):
            job = send(store, submission_id, name, argv, options.queue)
            print(f"Submitted {name} as job {job.job_id} to queue {options.queue}")
            if options.pause_between and index + 1 < len(intended):
                time.sleep(options.pause_between)
        write_active(store)
        print(f"Recorded in {store.path} (launch {launch_id})")
    finally:
        store.close()
    return 0


def _record_attempt(connection: sqlite3.Connection, experiment_id: int, attempt: int, argv: list[str],
                    parent: int | None = None) -> int:
    now = utcnow()
    me = processes.this_process()
    submission_id = writes.insert(connection, "submissions", {
        "experiment_id": experiment_id, "attempt": attempt, "argv": argv, "state": states.SUBMITTING,
        "intended_at": now, "updated_at": now, "host": me.host, "runner_pid": me.pid, "runner_start": me.start,
        **({"origin": "resubmit", "parent_submission_id": parent} if parent else {}),
    })
    writes.add_state_change(connection, submission_id, states.SUBMITTING, now, "resubmit" if parent else None)
    return submission_id


def send(store: Store, submission_id: int, name: str, argv: list[str], queue_name: str) -> SubmittedJob:
    job_id = queue.submit(store.workdir, name, argv, queue_name)
    now = utcnow()
    with store.write() as connection:
        writes.change_state(connection, submission_id, states.SUBMITTING, states.PENDING, now, None, job_id=job_id,
                            submitted_at=now)
    return SubmittedJob(name, argv, job_id, None)


def write_active(store: Store) -> None:
    """The fake's scancel.sh: the job ids of the record that may still run, one a line."""
    with store.read() as connection:
        job_ids = [job_id for (job_id,) in connection.execute(
            "SELECT s.job_id FROM submissions s JOIN experiments e ON e.id = s.experiment_id JOIN launches l "
            "ON l.id = e.launch_id WHERE l.backend = ? AND s.job_id IS NOT NULL AND s.state IN ('PENDING', "
            "'RUNNING') ORDER BY s.id", (NAME,))]
    (store.workdir / CANCEL_LIST).write_text("".join(f"{job_id}\n" for job_id in job_ids))


class FakeResubmitter:
    """Each failed attempt's recorded command again, in the queue its launch recorded."""

    def __init__(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> None:
        self.store, self.request, self.result = store, request, result
        self.planned: list[tuple[int, str, list[str], str]] = []

    def plan(self, connection: sqlite3.Connection, row: sqlite3.Row, attempt: int) -> None:
        self.result.planned.append((row.name, attempt))
        if self.request.dry_run:
            return
        argv = json.loads(row.argv)
        queue_name = launch_options_from_record(json.loads(row.options)).queue  # type: ignore[attr-defined]
        submission_id = _record_attempt(connection, row.experiment_id, attempt, argv, parent=row.id)
        self.planned.append((submission_id, row.name, argv, queue_name))

    def close(self, connection: sqlite3.Connection) -> None:
        """Nothing to refuse or group."""

    def send(self) -> None:
        for submission_id, name, argv, queue_name in self.planned:
            job = send(self.store, submission_id, name, argv, queue_name)
            self.request.echo(f"Resubmitted {name} as job {job.job_id} to queue {queue_name}")
            self.result.jobs.append(job)
