"""Following NGC jobs after submission: their states from `ngc batch list`/`info`, their cancel by `ngc batch kill`.

Only jobs whose id is on record are asked about (`store.sync.tracked_jobs`).
A full sync asks `ngc batch list` once, then `ngc batch info` for each job the
listing left out (the listing covers a recent window only, so leaving a job out
proves nothing); a cancel's settle asks `info` alone for the few jobs it
stopped. A state changes only on an answer that names the job and shows a
status NGC's table maps (`answers.STATUS_STATES`); an error, a time-out or an
unknown status leaves it as it was, with a note.
"""

from __future__ import annotations

import shutil

from collections.abc import Mapping
from typing import Any

from pbt_tracker import commands
from pbt_tracker.backends.base import CancelTarget, Stopped, SyncResult
from pbt_tracker.backends.ngc import NAME as NGC
from pbt_tracker.backends.ngc.answers import NgcJob, info_job, kill_answer, listed_jobs
from pbt_tracker.errors import SchedulerError
from pbt_tracker.store import Store, utcnow, writes
from pbt_tracker.store.run_values import RunValues
from pbt_tracker.store.sync import TrackedJob, tracked_jobs

NOT_ON_PATH = ("ngc was not found on PATH, and NGC jobs' states are read with it; "
               "install the NGC CLI here, or sync where it is")


def sync_ngc(store: Store, submission_ids: list[int] | None = None) -> SyncResult:
    """The states NGC shows for the jobs on record (only these, with `submission_ids`), written where they changed."""
    result = SyncResult()
    with store.read() as connection:
        rows = tracked_jobs(connection, NGC, submission_ids)
    result.asked += len(rows)
    if not rows:
        return result
    if shutil.which("ngc") is None:
        raise SchedulerError(NOT_ON_PATH)
    seen: dict[str, NgcJob] = {}
    if submission_ids is None and len(rows) > 1:
        seen = _listing(result)
    for row in rows:
        if row.job_id in seen:
            continue
        try:
            job = _info(row.job_id, result)
        except SchedulerError as error:  # no answer is no evidence: the rest wait for the next sync
            result.notes.append(f"ngc batch info did not answer ({error}); NGC jobs not asked about keep their "
                                "states until the next sync")
            break
        if job is not None:
            seen[row.job_id] = job
    _record(store, rows, seen, result)
    return result


def kill(targets: list[CancelTarget]) -> Stopped:
    """One `ngc batch kill` for all the targets, believed job by job: ngc exits 0 whether it killed or not."""
    job_ids = [target.job_id for target in targets if target.job_id]
    outcome = commands.run_command(kill_argv(job_ids))
    answer = kill_answer(outcome.stdout, outcome.stderr)
    refused = dict(answer.refused)
    for job_id in job_ids:
        if job_id not in answer.accepted and job_id not in refused:
            refused[job_id] = f"no answer about this job (ngc exited with {outcome.returncode})"
    accepted = set(answer.accepted) - set(refused)
    return Stopped([t.submission_id for t in targets if t.job_id in accepted], refused, outcome.returncode,
                   outcome.stdout, outcome.stderr)


def kill_argv(job_ids: list[str]) -> list[str]:
    """NGC takes several job ids as one comma-separated argument."""
    return ["ngc", "batch", "kill", ",".join(job_ids)] if job_ids else []


def _listing(result: SyncResult) -> dict[str, NgcJob]:
    """`ngc batch list`'s jobs; a listing that fails is only one source less (`info` asks each job)."""
    result.scheduler_calls += 1
    try:
        outcome = commands.run_command(["ngc", "batch", "list", "--format_type", "json"])
    except SchedulerError:
        return {}
    return listed_jobs(outcome.stdout) if outcome.returncode == 0 else {}


def _info(job_id: str, result: SyncResult) -> NgcJob | None:
    result.scheduler_calls += 1
    outcome = commands.run_command(["ngc", "batch", "info", job_id, "--format_type", "json"])
    return info_job(outcome.stdout, job_id) if outcome.returncode == 0 else None


def _record(store: Store, rows: list[TrackedJob], seen: dict[str, NgcJob], result: SyncResult) -> None:
    unknown = sorted({job.status for job in seen.values() if job.state is None})
    if unknown:
        result.notes.append(f"ngc showed status(es) {', '.join(unknown)}, which say nothing of how a run went; "
                            "those jobs keep their states")
    changes: list[tuple[int, str | None, str, str | None, RunValues | Mapping[str, Any]]] = []
    for row in rows:
        job = seen.get(row.job_id)
        if job is None or job.state is None or job.state == row.state:
            continue
        values = {name: moment for name, moment in (("started_at", job.started_at), ("ended_at", job.ended_at))
                  if moment is not None}
        changes.append((row.id, row.state, job.state, f"ngc: {job.status}", values))
    if not seen:
        return
    now = utcnow()
    with store.write() as connection:
        writes.note_answer(connection, NGC, now)
        applied = writes.change_states(connection, changes, now) if changes else []
    result.changed += sum(applied)
