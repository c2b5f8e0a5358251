"""Bringing job states up to date from Slurm, at a cost that does not grow with the job count.

squeue is asked about the tracked jobs by their ids (an array's tasks by the
array's id), so a sync costs what those jobs cost and not what the user's
other jobs do. Only when there are jobs to find that the record has no id
for does one squeue call per submitting user list every job of that user:
by their tag the jobs whose submitter died before recording them, and, in a
workdir whose templates send successors, by their script the jobs a tracked
job submitted itself (a chain). sacct is asked once, only about jobs that
squeue shows as ended or no longer lists; scontrol only when squeue fails.
What an answer means is decided in `evidence`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from pbt_tracker import states
from pbt_tracker.backends.base import SyncResult
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm import evidence
from pbt_tracker.backends.slurm.listing import Listing, StartedListing, list_cancelled
from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.runs import is_same_job, newest_run
from pbt_tracker.backends.slurm.tags import array_tag, submission_tag
from pbt_tracker.commands import Deadline
from pbt_tracker.errors import AccountingUnavailable, SchedulerError
from pbt_tracker.in_background import InBackground
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store import sync as followed
from pbt_tracker.store.connection import parse_time
from pbt_tracker.store.run_values import RunValues

ACCOUNTING_NOTE = (
    "sacct is not available ({reason}): jobs Slurm has already forgotten are shown as UNKNOWN, "
    "so final states may be incomplete"
)
EMPTY_NOTE = "squeue listed no job at all; states were left as they were (sync again in a moment)"


def sync_slurm(store: Store, started: StartedListing) -> SyncResult:
    """The workdir's Slurm jobs brought up to date from the listing `start_listing` began."""
    # Imported once squeue runs: nothing before it needs them.
    from pbt_tracker.backends.slurm import chains
    from pbt_tracker.backends.slurm.recover import recover_unanswered

    result, listed, refusals_only = started.result, started.listed, started.refusals_only
    if not refusals_only:  # the answer is written down once it comes: its check of the record runs meanwhile
        store.check_before_writing()
    with store.read() as connection:  # what squeue was asked about; a job recorded since waits for the next sync
        tracked = [_tracked(row) for row in followed.tracked_jobs(connection, SLURM) if row.job_id in started.job_ids]
    try:
        listing = listed.result()
    except SchedulerError:
        if refusals_only:
            return result
        raise
    if not refusals_only:
        with store.write() as connection:
            writes.note_answer(connection, SLURM, utcnow())
    if listing.empty:
        result.notes.append(EMPTY_NOTE)
    changed = result.changed
    recover_unanswered(store, started.orphans, listing, result, started.deadline)
    if result.changed > changed:  # jobs found by their tag are asked about with the rest, in this sync
        found = {orphan.submission_id for orphan in started.orphans}
        with store.read() as connection:
            tracked = [_tracked(row) for row in followed.tracked_jobs(connection, SLURM)
                       if row.job_id in started.job_ids or row.id in found]
    if tracked:
        _sync_known_jobs(store, tracked, listing, result, started.deadline)
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
        parse_time(row.cancel_requested_at), tag, row.clock_skew, row.partition, row.time_limit,
    )


def sync_cancelled(store: Store, submission_ids: list[int],
                   listed: InBackground[tuple[dict[str, JobObservation], bool]] | None = None) -> SyncResult:
    """Right after scancel: the cancelled jobs' states from squeue asked about them alone.

    A job squeue still lists (a cancelled one stays listed for MinJobAge) is
    recorded as squeue shows it, an array's tasks by the array's id; only
    for one it no longer lists is sacct asked. A job neither shows stays as
    it was, marked "cancel requested": scancel's exit 0 is not Slurm's word
    that the job ended (`evidence` has the one exception). The workdir's
    other jobs are left to the next sync. squeue runs while the record of
    these jobs is read; `listed` is its listing where `list_cancelled` has
    started it already.
    """
    result = SyncResult()
    if listed is None:
        with store.read() as connection:
            job_ids = queries.job_ids_of(connection, submission_ids)
        if not job_ids:
            return result
        listed = list_cancelled(job_ids)
    result.scheduler_calls += 1
    with store.read() as connection:
        tracked = [_tracked(row) for row in followed.tracked_jobs(connection, SLURM, submission_ids)]
    jobs, listed_any = listed.result()
    listing = Listing(jobs, complete=False, listed_any=listed_any, asked={item.job_id for item in tracked})
    if not tracked:
        return result
    result.asked = len(tracked)
    observations: dict[str, JobObservation | None] = {
        item.job_id: observation for item in tracked
        if (observation := listing.jobs.get(item.job_id)) is not None and _ours(observation, item)
    }
    missing = [item for item in tracked if item.job_id not in observations]
    if missing:  # ended long enough before the cancel for squeue to forget them: sacct says how
        observations.update(_observe(missing, listing, result))
    _record_changes(store, tracked, observations, listing, result, answered=True)
    if result.changed:
        from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script

        write_scancel_script(store)
    return result


def _sync_known_jobs(store: Store, tracked: list[evidence.Tracked], listing: Listing, result: SyncResult,
                     deadline: Deadline) -> None:
    _record_changes(store, tracked, _observe(tracked, listing, result, deadline), listing, result)


def _record_changes(store: Store, tracked: list[evidence.Tracked], observations: dict[str, JobObservation | None],
                    listing: Listing, result: SyncResult, answered: bool = False) -> None:
    """The changes the observations prove; with `answered`, also that the scheduler answered, in the same write."""
    now = utcnow()
    alike = evidence.AlikeChanges(listing.empty, now)
    changes = []
    for item in tracked:
        observation = observations.get(item.job_id)
        asks_age = (observation is None and not listing.empty and item.state != states.LOST
                    and item.state not in states.MAY_BE_REQUEUED)  # MinJobAge decides LOST, never a watched end
        limit = listing.job_age_limit() if asks_age else timedelta(0)
        change = alike.of(item, observation, limit)
        if change is not None:
            changes.append((item, change))
    if not changes and not answered:
        return
    run_values: dict[int, RunValues] = {}  # by id(change): submissions with one change share its values
    for _, change in changes:
        if id(change) not in run_values:  # keys are RunValues fields (evidence._RUN_COLUMNS)
            run_values[id(change)] = RunValues(**cast("dict[str, Any]", change.values))
    with store.write() as connection:
        if answered:
            writes.note_answer(connection, SLURM, now)
        applied = writes.change_states(connection, [
            (item.submission_id, item.state, change.state, change.detail, run_values[id(change)])
            for item, change in changes
        ], now)
    result.changed += sum(change.state != item.state for (item, change), done in zip(changes, applied) if done)


def _observe(
    tracked: list[evidence.Tracked], listing: Listing, result: SyncResult, deadline: Deadline | None = None
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
            accounted = slurm.query_sacct(ended, deadline)
        except AccountingUnavailable as error:
            result.notes.append(ACCOUNTING_NOTE.format(reason=error))
    return {
        job_id: evidence.choose(
            queue.get(job_id),
            newest_run([row for row in accounted.get(job_id, ()) if _ours(row, item)]),
            listed_without=listing.lacks(job_id),
        )
        for job_id, item in by_id.items()
    }


def _ours(observation: JobObservation, item: evidence.Tracked) -> bool:
    return is_same_job(observation, item.tag)

