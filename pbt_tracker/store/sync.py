"""What a sync reads about a backend's jobs: those it follows, those whose job id never reached the record,
and whose attempt a recorded script belongs to.

Which jobs may still change is one rule with `queries.may_change`, by way
of `queries.requeue_watch`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import NamedTuple

from pbt_tracker import states
from pbt_tracker.store.connection import sql_time
from pbt_tracker.store.queries import requeue_watch
from pbt_tracker.store.selections import column_list, marks, named_rows

__all__ = [
    "JobHolder", "ScriptOwner", "TrackedJob", "UnansweredSubmission", "base_id", "live_holder", "live_holders",
    "script_owners_of", "tracked_jobs", "unanswered",
]


class UnansweredSubmission(NamedTuple):
    """A submission sent, or about to be, whose job id is not on record; its tag finds its job."""

    id: int
    state: str
    host: str | None
    runner_pid: int | None
    runner_start: int | None
    submit_pid: int | None
    submit_pid_start: int | None
    uuid: str
    username: str
    array_id: int | None
    array_task: int | None
    intended_at: str
    unseen_since: str | None
    unseen_count: int | None
    launched_at: str  # its launch's start: sacct's answer since then lists the launch's own jobs


_UNANSWERED = column_list(
    UnansweredSubmission._fields, id="s.id", state="s.state", host="s.host", runner_pid="s.runner_pid",
    runner_start="s.runner_start", submit_pid="s.submit_pid", submit_pid_start="s.submit_pid_start", uuid="l.uuid",
    username="l.username", array_id="s.array_id", array_task="s.array_task", intended_at="s.intended_at",
    unseen_since="s.unseen_since", unseen_count="s.unseen_count", launched_at="l.created_at",
)


def unanswered(connection: sqlite3.Connection, backend: str,
               refused_since: datetime | None = None) -> list[UnansweredSubmission]:
    """Submissions of a backend sent (or about to be) whose job id is not on record.

    With `refused_since`, also the SUBMIT_FAILED ones sbatch answered with a
    refusal since then that are still their experiment's latest attempt: a
    controller may have queued the job before it answered.
    """
    refused = ""
    arguments: tuple[object, ...] = (backend, states.SUBMITTING, states.UNKNOWN, states.SUBMIT_UNCERTAIN)
    if refused_since is not None:
        refused = ("OR (s.state = ? AND s.submit_stderr IS NOT NULL AND s.intended_at >= ? AND NOT EXISTS ("
                   "SELECT 1 FROM submissions AS n WHERE n.experiment_id = s.experiment_id AND n.attempt > s.attempt))")
        arguments += (states.SUBMIT_FAILED, sql_time(refused_since))
    return named_rows(connection.execute(
        f"SELECT {_UNANSWERED} FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        "JOIN launches AS l ON l.id = e.launch_id WHERE l.backend = ? AND l.uuid IS NOT NULL "
        f"AND s.job_id IS NULL AND (s.state IN (?, ?, ?) {refused})",
        arguments,
    ), UnansweredSubmission)


def recorded_job_ids(connection: sqlite3.Connection, backend: str) -> set[str]:
    """Every job id a backend's submissions were given: a sacct answer listing one of them answers for this record."""
    return {job_id for (job_id,) in connection.execute(
        "SELECT DISTINCT s.job_id FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        "JOIN launches AS l ON l.id = e.launch_id WHERE l.backend = ? AND s.job_id IS NOT NULL",
        (backend,),
    )}


class TrackedJob(NamedTuple):
    """A submission with a job id, as the record last saw it; times as UTC text."""

    id: int
    job_id: str
    state: str
    intended_at: str
    node: str | None
    started_at: str | None
    ended_at: str | None
    exit_code: int | None
    exit_signal: int | None
    pending_reason: str | None
    unseen_since: str | None
    unseen_count: int | None
    username: str
    cancel_requested_at: str | None
    uuid: str | None
    array_id: int | None
    clock_skew: int | None
    partition: str | None
    time_limit: str | None


_TRACKED = column_list(
    TrackedJob._fields, id="s.id", job_id="s.job_id", state="s.state", intended_at="s.intended_at", node="s.node",
    started_at="s.started_at", ended_at="s.ended_at", exit_code="s.exit_code", exit_signal="s.exit_signal",
    pending_reason="s.pending_reason", unseen_since="s.unseen_since", unseen_count="s.unseen_count",
    username="l.username", cancel_requested_at="s.cancel_requested_at", uuid="l.uuid", array_id="s.array_id",
    clock_skew="s.clock_skew",
    partition="s.partition", time_limit="s.time_limit",
)


def tracked_jobs(
    connection: sqlite3.Connection, backend: str, submission_ids: list[int] | None = None,
) -> list[TrackedJob]:
    """A backend's submissions with a job id whose state may still change; with `submission_ids`, only those.

    Among them are jobs that ended in a state after which the scheduler may
    requeue them itself, until Slurm has forgotten them, and LOST jobs: LOST
    says only that no answer had the job, and a later one may still tell how it ended.
    """
    sql, arguments = _tracked_sql(_TRACKED, backend, submission_ids)
    return named_rows(connection.execute(sql, arguments), TrackedJob)


def tracked_job_ids(connection: sqlite3.Connection, backend: str) -> set[str]:
    """The job ids of `tracked_jobs`, alone: what a sync asks the scheduler about before it reads the rest."""
    sql, arguments = _tracked_sql("s.job_id", backend, None)
    return {job_id for (job_id,) in connection.execute(sql, arguments)}


def _tracked_sql(columns: str, backend: str, submission_ids: list[int] | None) -> tuple[str, tuple[object, ...]]:
    final = sorted(states.FINAL)
    watched, watched_params = requeue_watch("s.")
    only = "" if submission_ids is None else "AND s.id IN (SELECT value FROM json_each(?)) "
    # A job id given again to a newer submission (a cluster whose ids started over) is the newer one's alone.
    return (
        f"SELECT {columns} FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        f"JOIN launches AS l ON l.id = e.launch_id WHERE l.backend = ? AND s.job_id IS NOT NULL {only}"
        f"AND (s.state NOT IN ({marks(final)}) OR s.state = ? OR {watched}) "
        "AND NOT EXISTS (SELECT 1 FROM submissions AS n WHERE n.job_id = s.job_id AND n.id > s.id)",
        (backend, *([] if submission_ids is None else [json.dumps(submission_ids)]), *final, states.LOST,
         *watched_params),
    )


class ScriptOwner(NamedTuple):
    """A recorded script, with its experiment and that experiment's latest attempt."""

    script_id: int
    experiment_id: int
    submission_id: int
    attempt: int
    job_id: str | None


_SCRIPT_OWNER = column_list(
    ScriptOwner._fields, script_id="sc.id", experiment_id="e.id", submission_id="s.id", attempt="s.attempt",
    job_id="s.job_id",
)


def script_owners_of(connection: sqlite3.Connection, path: str) -> ScriptOwner | None:
    """`queries.script_owners` for one path, read again inside the writing transaction."""
    row = connection.execute(
        f"SELECT {_SCRIPT_OWNER} FROM scripts AS sc JOIN experiments AS e ON e.id = sc.experiment_id "
        "JOIN submissions AS s ON s.experiment_id = e.id "
        "AND s.attempt = (SELECT max(attempt) FROM submissions WHERE experiment_id = e.id) "
        "WHERE sc.path = ? ORDER BY sc.id DESC LIMIT 1",
        (path,),
    ).fetchone()
    return None if row is None else ScriptOwner._make(row)


class JobHolder(NamedTuple):
    """A submission that holds a job id and may still run: no other submission may be given that id."""

    submission_id: int
    job_id: str
    experiment: str
    attempt: int
    state: str
    array_id: int | None

    def refusal(self, job_id: str, source: str = "sbatch answered") -> str:
        """Why a job id `source` gave is not taken: two live submissions with one id would share every state and
        cancel. Here rather than with the launch: a sync that finds an id by its tag says it too."""
        given = "" if self.job_id == job_id else f"as job {self.job_id}, "
        attempt = f"attempt {self.attempt}, " if self.attempt else ""
        return (f"{source} job {job_id}, which the record already holds for {self.experiment} "
                f"({given}{attempt}{self.state}), so it is not taken as this one's")


def base_id(job_id: str) -> str:
    """The job an id belongs to: task N of array job A is job A_N, and scancel or squeue of A reaches every task."""
    return job_id.split("_", 1)[0]


def live_holders(connection: sqlite3.Connection, backend: str,
                 job_ids: list[str] | None = None) -> dict[str, JobHolder]:
    """A backend's submissions, not ended, that hold these job ids (all such, without `job_ids`), by base id.

    Job A, and every task A_N of array A, are one base id: a single job given
    A while a live array holds A_0 would be cancelled with it, and each
    would take the other's states from squeue's answer about A.
    """
    active = sorted(states.MAY_BE_ACTIVE)
    if job_ids is None:
        asked, state, arguments = "", "s.state", [backend]
    else:  # found by job_id's index, one base at a time (`+` keeps the planner off the state's index)
        asked = ("JOIN json_each(?) AS b "
                 "ON (s.job_id = b.value OR (s.job_id > b.value || '_' AND s.job_id < b.value || '`')) ")
        state, arguments = "+s.state", [json.dumps(sorted({base_id(job_id) for job_id in job_ids})), backend]
    rows = named_rows(connection.execute(
        "SELECT s.id AS submission_id, s.job_id, e.name AS experiment, s.attempt, s.state, s.array_id "
        f"FROM submissions AS s {asked}"
        "JOIN experiments AS e ON e.id = s.experiment_id JOIN launches AS l ON l.id = e.launch_id "
        f"WHERE l.backend = ? AND s.job_id IS NOT NULL AND {state} IN ({marks(active)}) ORDER BY s.id",
        (*arguments, *active),
    ), JobHolder)
    holders: dict[str, JobHolder] = {}
    for row in rows:
        holders.setdefault(base_id(row.job_id), row)  # an array's first task names it
    return holders


def live_holder(connection: sqlite3.Connection, backend: str, job_id: str) -> JobHolder | None:
    """The live submission that holds `job_id`, or the id of the job or array it belongs to; None if none does."""
    return live_holders(connection, backend, [job_id]).get(base_id(job_id))
