"""Bringing job states up to date from Slurm, at a cost that does not grow with the job count.

One squeue call per submitting user lists every job Slurm still knows of
that user: it answers for the tracked jobs, finds by their tag the jobs whose
submitter died before recording them, and finds by their script the jobs a
tracked job submitted itself (a chain). sacct is asked once, only about jobs
that squeue shows as ended or no longer lists; scontrol only when squeue
fails. What an answer means is decided in `evidence`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, cast

from pbt_tracker import states
from pbt_tracker.backends.base import SyncResult
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm import evidence
from pbt_tracker.backends.slurm.listing import Listing
from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.runs import is_same_job, newest_run
from pbt_tracker.backends.slurm.tags import array_tag, submission_tag
from pbt_tracker.errors import AccountingUnavailable, SchedulerError
from pbt_tracker.in_background import InBackground
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store import sync as followed
from pbt_tracker.store.connection import parse_time
from pbt_tracker.store.run_values import RunValues

# Clocks of the login node and the controller may disagree by this much; the tag needs no clock at all.
CLOCK_SKEW = timedelta(minutes=5)

ACCOUNTING_NOTE = (
    "sacct is not available ({reason}): jobs Slurm has already forgotten are shown as UNKNOWN, "
    "so final states may be incomplete"
)
EMPTY_NOTE = "squeue listed no job at all; states were left as they were (sync again in a moment)"


def sync_slurm(store: Store) -> SyncResult:
    # Imported here: cancel's settle (`sync_cancelled`) needs neither, and a cancel's start-up is timed.
    from pbt_tracker.backends.slurm import chains
    from pbt_tracker.backends.slurm.recover import orphans_of, recover_unanswered

    result = SyncResult()
    with store.read() as connection:
        unanswered = followed.unanswered(connection, SLURM)
        rows = followed.tracked_jobs(connection, SLURM)
        users = queries.usernames(connection, SLURM)
        scripts = queries.script_owners(connection, SLURM)
    job_ids = {row.job_id for row in rows}
    result.asked += len(job_ids)
    if not unanswered and not rows:
        return result
    # Which lost answers are not on their way any more is read before the listing: an sbatch that finishes in
    # between then shows its job in the listing, rather than being taken for one that never reached Slurm.
    orphans = orphans_of(unanswered, result)
    folders = tuple(sorted({(os.path.dirname(path) or ".") + "/" for path in scripts}))  # as Path(path).parent
    tags = tuple(sorted({orphan.tag for orphan in orphans}))  # a job whose id never reached the record
    # The tracked jobs are read while squeue lists; `result` is the listing's alone until it is back.
    listed = InBackground(lambda: _list_jobs(users, job_ids, (*tags, *folders), result))
    tracked = [_tracked(row) for row in rows]
    listing = listed.result()
    with store.write() as connection:
        writes.note_answer(connection, SLURM, utcnow())
    if listing.empty:
        result.notes.append(EMPTY_NOTE)
    changed = result.changed
    recover_unanswered(store, orphans, listing, result)
    if result.changed > changed:  # jobs found by their tag are asked about with the rest, in this sync
        with store.read() as connection:
            tracked = [_tracked(row) for row in followed.tracked_jobs(connection, SLURM)]
    if tracked:
        _sync_known_jobs(store, tracked, listing, result)
    if listing.complete and not listing.empty:
        result.changed += chains.record_chained_jobs(store, listing.jobs)
    return result


def _tracked(row: followed.TrackedJob) -> evidence.Tracked:
    tag = None
    if row.uuid:
        tag = array_tag(row.uuid, row.array_id) if row.array_id is not None else submission_tag(row.uuid, row.id)
    return evidence.Tracked(
        row.id, row.job_id, row.state, parse_time(row.intended_at), row.node,
        parse_time(row.started_at), parse_time(row.ended_at), row.exit_code, row.exit_signal,
        row.pending_reason, parse_time(row.unseen_since), row.unseen_count or 0, row.username,
        parse_time(row.cancel_requested_at), tag, row.partition, row.time_limit,
    )


def _list_jobs(users: list[str], job_ids: set[str], markers: tuple[str, ...], result: SyncResult) -> Listing:
    """Every job of the workdir's users that concerns the record: tracked, tagged, or running a recorded script."""
    jobs: dict[str, JobObservation] = {}
    listed_any = False
    try:
        for user in users:
            result.scheduler_calls += 1
            own, listed = slurm.list_user_jobs(user, job_ids, markers)
            jobs.update(own)
            listed_any = listed_any or listed
        return Listing(jobs, complete=True, listed_any=listed_any)
    except SchedulerError as squeue_error:
        result.scheduler_calls += 1
        try:
            jobs = slurm.query_scontrol()
        except SchedulerError as scontrol_error:
            raise SchedulerError(
                f"cannot read job states: {squeue_error}, and then {scontrol_error}; check that Slurm answers "
                "(run squeue), or pass --no-sync to use the record as it is"
            ) from None
        result.notes.append(f"squeue failed ({squeue_error}); asked scontrol instead")
        return Listing(jobs, complete=False)


def sync_cancelled(store: Store, submission_ids: list[int]) -> SyncResult:
    """Right after scancel: the cancelled jobs' states from one squeue listing, without sacct.

    A job squeue still lists (a cancelled one stays listed for MinJobAge) is
    recorded as squeue shows it; only for one it no longer lists is sacct
    asked, and where sacct does not know it either, it was cancelled on
    request (an evidence rule). The workdir's other jobs are left to the next sync.
    The listing runs while the record of these jobs is read.
    """
    result = SyncResult()
    with store.read() as connection:
        job_ids = queries.job_ids_of(connection, submission_ids)
        users = queries.usernames(connection, SLURM)
    if not job_ids:
        return result
    result.scheduler_calls += len(users)
    listed = InBackground(lambda: _listed_states(job_ids, users))
    with store.read() as connection:
        tracked = [_tracked(row) for row in followed.tracked_jobs(connection, SLURM, submission_ids)]
    listing = Listing(listed.result(), complete=False)
    if not tracked:
        return result
    result.asked = len(tracked)
    observations: dict[str, JobObservation | None] = {
        item.job_id: observation for item in tracked
        if (observation := listing.jobs.get(item.job_id)) is not None and _ours(observation, item)
    }
    missing = [item for item in tracked if item.job_id not in observations]
    if missing:  # ended long enough before the cancel for squeue to forget them: sacct says how
        observations.update(_observe(missing, Listing({}, complete=False), result))
    _record_changes(store, tracked, observations, listing, result, answered=True)
    if result.changed:
        from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script

        write_scancel_script(store)
    return result


def _listed_states(job_ids: list[str], users: list[str]) -> dict[str, JobObservation]:
    """Only these jobs' lines are read from each user's listing: the user may have thousands more."""
    jobs: dict[str, JobObservation] = {}
    for user in users:
        jobs.update(slurm.query_squeue(job_ids, user=user))
    return jobs


def _sync_known_jobs(store: Store, tracked: list[evidence.Tracked], listing: Listing, result: SyncResult) -> None:
    _record_changes(store, tracked, _observe(tracked, listing, result), listing, result)


def _record_changes(store: Store, tracked: list[evidence.Tracked], observations: dict[str, JobObservation | None],
                    listing: Listing, result: SyncResult, answered: bool = False) -> None:
    """The changes the observations prove; with `answered`, also that the scheduler answered, in the same write."""
    now = utcnow()
    changes = []
    for item in tracked:
        observation = observations.get(item.job_id)
        asks_age = (observation is None and not listing.empty and item.cancel_requested_at is None
                    and item.state not in states.MAY_BE_REQUEUED)  # MinJobAge decides LOST, never a watched end
        limit = listing.job_age_limit() if asks_age else timedelta(0)
        change = evidence.next_state(item, observation, listing.empty, now, limit)
        if change is not None:
            changes.append((item, change))
    if not changes and not answered:
        return
    with store.write() as connection:
        if answered:
            writes.note_answer(connection, SLURM, now)
        applied = writes.change_states(connection, [
            (item.submission_id, item.state, change.state, change.detail,
             RunValues(**cast("dict[str, Any]", change.values)))  # keys are RunValues fields (evidence._RUN_COLUMNS)
            for item, change in changes
        ], now)
    result.changed += sum(change.state != item.state for (item, change), done in zip(changes, applied) if done)


def _observe(
    tracked: list[evidence.Tracked], listing: Listing, result: SyncResult
) -> dict[str, JobObservation | None]:
    """Each tracked job's current run, from squeue's listing and (for jobs it shows ended or lacks) sacct."""
    by_id = {t.job_id: t for t in tracked}
    queue = {
        job_id: observation for job_id, observation in listing.jobs.items()
        if job_id in by_id and _ours(observation, by_id[job_id])
    }
    ended = sorted(  # a job ended on record and not listed again was not requeued: sacct has nothing new on it
        job_id for job_id, item in by_id.items()
        if job_id in queue and queue[job_id].state in states.FINAL
        or job_id not in queue and item.state not in states.MAY_BE_REQUEUED
    )
    accounted: dict[str, list[JobObservation]] = {}
    if ended:
        result.scheduler_calls += 1
        try:
            accounted = slurm.query_sacct(ended)
        except AccountingUnavailable as error:
            result.notes.append(ACCOUNTING_NOTE.format(reason=error))
    return {
        job_id: evidence.choose(
            queue.get(job_id),
            newest_run([row for row in accounted.get(job_id, ()) if _ours(row, item)]),
        )
        for job_id, item in by_id.items()
    }


def _ours(observation: JobObservation, item: evidence.Tracked) -> bool:
    return is_same_job(observation, item.tag, item.intended_at - CLOCK_SKEW)

