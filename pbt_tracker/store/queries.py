"""What the commands ask of the record in passing: whether anything may still change, who submitted, which
job ids and paths it holds.

Each command's own reading of the selected submissions, as named rows, is
in the store module of its part (`report`, `cancel`, `next_attempts`, ...);
`check_names_exist` is reached through here, as it always was.
"""

from __future__ import annotations

import json
import sqlite3
from typing import NamedTuple

from pbt_tracker import states
from pbt_tracker.store.connection import fetch_rows
from pbt_tracker.store.selections import check_names_exist, marks, named_rows

__all__ = ["check_names_exist"]


def may_change(connection: sqlite3.Connection, unfollowed: tuple[str, ...] = ()) -> bool:
    """Whether any submission may still change: the rows `unsettled_local` and `store.sync` would return.

    The two share `requeue_watch`, so that they stay one rule; a report that
    finds none need not import sync at all. Submissions of the `unfollowed`
    backends (whose jobs sync never asks about) are left out: no sync changes them.
    """
    final = sorted(states.FINAL)
    watched, watched_params = requeue_watch("")
    followed = (
        "SELECT s.state, s.job_id, s.unseen_count, s.unseen_since, s.updated_at FROM submissions AS s JOIN experiments AS e "
        f"ON e.id = s.experiment_id JOIN launches AS l ON l.id = e.launch_id WHERE l.backend NOT IN ({marks(unfollowed)})"
    ) if unfollowed else "SELECT state, job_id, unseen_count, unseen_since, updated_at FROM submissions"
    return connection.execute(
        f"WITH followed AS ({followed}) "
        f"SELECT EXISTS (SELECT 1 FROM followed WHERE state NOT IN ({marks(final)})) "
        "OR EXISTS (SELECT 1 FROM followed WHERE state = ? AND job_id IS NULL) "
        f"OR EXISTS (SELECT 1 FROM followed WHERE {watched})",
        (*unfollowed, *final, states.UNKNOWN, *watched_params),
    ).fetchone()[0] == 1


def requeue_watch(prefix: str) -> tuple[str, tuple[object, ...]]:
    """The condition, on columns named with `prefix`, for an end that the scheduler may still undo by a requeue.

    It holds until answers listing other jobs have lacked the job often
    enough, the first and the latest far enough apart (states.MAY_BE_REQUEUED
    says why): then Slurm has forgotten it. The latest such answer is the
    row's `updated_at`, since each one writes the count.
    """
    requeued = sorted(states.MAY_BE_REQUEUED)
    return (
        f"{prefix}state IN ({marks(requeued)}) AND NOT (COALESCE({prefix}unseen_count, 0) >= ? "
        f"AND (julianday({prefix}updated_at) - julianday({prefix}unseen_since)) * 86400 >= ?)",
        (*requeued, states.MIN_UNSEEN_SYNCS, states.CONFIRM_GAP_SECONDS),
    )


def job_ids_of(connection: sqlite3.Connection, submission_ids: list[int]) -> list[str]:
    """The job ids of these submissions, those that have one."""
    return [job_id for (job_id,) in connection.execute(
        "SELECT job_id FROM submissions WHERE id IN (SELECT value FROM json_each(?)) AND job_id IS NOT NULL",
        (json.dumps(submission_ids),),
    )]


def launch_backends(connection: sqlite3.Connection) -> set[str]:
    """The backends the record's launches went through: a sync asks no other."""
    return {backend for (backend,) in connection.execute("SELECT DISTINCT backend FROM launches")}


def usernames(connection: sqlite3.Connection, backend: str) -> list[str]:
    """Who submitted a backend's launches: sync lists each one's jobs."""
    return [name for (name,) in connection.execute(
        "SELECT DISTINCT username FROM launches WHERE backend = ? ORDER BY username", (backend,)
    )]


def script_owners(connection: sqlite3.Connection, backend: str) -> set[str]:
    """Every script path a backend's launches recorded: a listed job running one may be a chained attempt."""
    return {path for (path,) in connection.execute(
        "SELECT DISTINCT sc.path FROM scripts AS sc JOIN experiments AS e ON e.id = sc.experiment_id "
        "JOIN launches AS l ON l.id = e.launch_id WHERE l.backend = ?",
        (backend,),
    )}


def jobs_send_successors(connection: sqlite3.Connection) -> bool:
    """Whether a launch's template has its jobs submit their next attempt themselves (sbatch, [$PBT_TRACK|pbt-track] continue).

    Such a workdir may hold jobs the record has not seen yet, and jobs that
    ended since the last sync while their successor runs.
    """
    return connection.execute(  # GLOB, not LIKE: case matters, or every #SBATCH line would match
        "SELECT 1 FROM launches WHERE forgotten_at IS NULL "
        "AND (template_text GLOB '*sbatch *' OR template_text GLOB '*pbt-track continue*' "
        "OR template_text GLOB '*PBT_TRACK* continue*') LIMIT 1"
    ).fetchone() is not None


def log_path_taken(connection: sqlite3.Connection, path: str) -> bool:
    return connection.execute("SELECT 1 FROM submissions WHERE log_path = ? LIMIT 1", (path,)).fetchone() is not None


def recorded_job_ids(connection: sqlite3.Connection, job_ids: list[str]) -> set[str]:
    if not job_ids:
        return set()
    return {job_id for (job_id,) in connection.execute(
        f"SELECT job_id FROM submissions WHERE job_id IN ({marks(job_ids)})", job_ids
    )}


def latest_attempt(connection: sqlite3.Connection, experiment_id: int) -> int:
    return connection.execute(
        "SELECT max(attempt) FROM submissions WHERE experiment_id = ?", (experiment_id,)
    ).fetchone()[0] or 0


def unsettled_processes(
    connection: sqlite3.Connection, backend: str, live_states: tuple[str, ...]
) -> list[sqlite3.Row]:
    """Local experiments that are queued or running on record."""
    return fetch_rows(
        connection,
        "SELECT s.id, s.state, s.job_id, s.host, s.process_start, s.runner_pid, s.runner_start, "
        "s.cancel_requested_at, s.started_at, s.ended_at FROM submissions AS s "
        "JOIN experiments AS e ON e.id = s.experiment_id JOIN launches AS l ON l.id = e.launch_id "
        f"WHERE l.backend = ? AND s.state IN ({marks(live_states)}) ORDER BY s.id",
        (backend, *live_states),
    )


def submission(connection: sqlite3.Connection, submission_id: int) -> sqlite3.Row:
    (row,) = fetch_rows(connection, "SELECT * FROM submissions WHERE id = ?", (submission_id,))
    return row


def active_job_ids(connection: sqlite3.Connection, backend: str) -> list[str]:
    """Job ids of a backend that scancel might still have to stop, oldest first."""
    active = sorted(states.MAY_BE_ACTIVE)
    return [job_id for (job_id,) in connection.execute(
        "SELECT s.job_id FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        "JOIN launches AS l ON l.id = e.launch_id WHERE l.backend = ? AND s.job_id IS NOT NULL "
        f"AND s.state IN ({marks(active)}) ORDER BY s.id",
        (backend, *active),
    )]


def array_count(connection: sqlite3.Connection, launch_id: int) -> int:
    return connection.execute("SELECT count(*) FROM slurm_arrays WHERE launch_id = ?", (launch_id,)).fetchone()[0]


class LiveExperiment(NamedTuple):
    """A submission that may still run, with what a new launch of the same experiment would share with it."""

    name: str
    job_id: str | None
    launch_id: int
    train_dir: str


def live_experiments(connection: sqlite3.Connection, names: list[str]) -> list[LiveExperiment]:
    """Submissions of any launch that may still run under one of these experiment names, oldest first."""
    active = sorted(states.MAY_BE_ACTIVE)
    return named_rows(connection.execute(
        "SELECT e.name, s.job_id, e.launch_id, e.train_dir FROM submissions AS s "
        "JOIN experiments AS e ON e.id = s.experiment_id "
        f"WHERE e.name IN (SELECT value FROM json_each(?)) AND s.state IN ({marks(active)}) ORDER BY s.id",
        (json.dumps(names), *active),
    ), LiveExperiment)


def held_paths(connection: sqlite3.Connection, paths: list[str]) -> set[str]:
    """Which of these files the record already holds as a script or an array's script, of any launch."""
    return {path for (path,) in connection.execute(
        "SELECT path FROM scripts WHERE path IN (SELECT value FROM json_each(?)) "
        "UNION SELECT path FROM slurm_arrays WHERE path IN (SELECT value FROM json_each(?))",
        (json.dumps(paths), json.dumps(paths)),
    )}


def last_answer(connection: sqlite3.Connection, backend: str) -> str | None:
    """When the scheduler last answered a sync (UTC text), or None if it never did."""
    row = connection.execute("SELECT answered_at FROM sync_runs WHERE backend = ?", (backend,)).fetchone()
    return row[0] if row else None
