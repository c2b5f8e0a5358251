"""How a local process's end gets into the record: by its runner, by cancel, or by a sync after both are gone.

Each experiment's small keeper writes its exit code to a file under
EXIT_DIR, so that the end is known whoever records it.
"""

from __future__ import annotations

import sqlite3

from pbt_tracker import processes, states
from pbt_tracker.backends.processes import NAME as PROCESSES
from pbt_tracker.processes import ProcessId
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store.run_values import RunValues

EXIT_DIR = ".exit"


def ended_state(submission: sqlite3.Row, code: int | None) -> str:
    if submission["cancel_requested_at"] is not None or submission["state"] == states.CANCELLED:
        return states.CANCELLED
    if code is None:
        return states.UNKNOWN
    return states.COMPLETED if code == 0 else states.FAILED


def record_end(connection: sqlite3.Connection, submission: sqlite3.Row, state: str, code: int | None,
               detail: str | None) -> None:
    """A local attempt is over, in the caller's transaction; its end time only if it had started.

    A process killed by a signal (Python's returncode -15) is recorded as Slurm records a job killed by one,
    exit code 0 and signal 15, so that both backends print it `0:15`.
    """
    now = utcnow()
    values = RunValues(exit_code=code) if code is None or code >= 0 else RunValues(exit_code=0, exit_signal=-code)
    if submission["started_at"] is not None and submission["ended_at"] is None:
        values = values._replace(ended_at=now)
    writes.change_state(connection, submission["id"], submission["state"], state, now, detail, values)


def sync_processes(store: Store) -> tuple[int, int, list[str]]:
    """Settle local experiments whose process or runner has gone: (asked, changed, notes).

    A process that is gone is over: its keeper's exit file says how it ended,
    and without one (the keeper was killed too) the end is UNKNOWN. Queued
    experiments whose runner has gone will never start: SUBMIT_FAILED, so
    that resubmit-failed picks them up.
    """
    here = processes.hostname()
    asked = changed = 0
    elsewhere: set[str] = set()
    with store.write() as connection:
        for submission in queries.unsettled_processes(
            connection, PROCESSES, (states.PENDING, states.RUNNING, states.SUBMITTING)
        ):
            if submission["host"] and submission["host"] != here:
                elsewhere.add(submission["host"])
                continue
            asked += 1
            if submission["state"] == states.RUNNING and submission["job_id"]:
                if processes.is_running(ProcessId(int(submission["job_id"]), submission["process_start"], here)):
                    continue
                code = processes.read_exit_file(store.workdir / EXIT_DIR / str(submission["id"]))
                record_end(connection, submission, ended_state(submission, code), code,
                           "process ended" if code is not None else "process ended without an exit code")
                changed += 1
            elif submission["runner_pid"] and not processes.is_running(
                ProcessId(submission["runner_pid"], submission["runner_start"], here)
            ):
                record_end(connection, submission, states.SUBMIT_FAILED, None, "its launcher stopped before starting it")
                changed += 1
    notes = [f"experiments running on {host} can only be checked there" for host in sorted(elsewhere)]
    return asked, changed, notes
