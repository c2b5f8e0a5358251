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
# How long after sbatch answered a refusal a sync that asks the scheduler anyway still looks for the job by its tag:
# a controller under load has queued a job and then answered its client with an error. Found, the attempt is
# SUBMITTED after all.
REFUSAL_RECHECK = timedelta(minutes=10)
EMPTY_NOTE = "squeue listed no job at all; states were left as they were (sync again in a moment)"


def sync_slurm(store: Store) -> SyncResult:
    # Imported here: cancel's settle (`sync_cancelled`) needs neither, and a cancel's start-up is timed.
    from pbt_tracker.backends.slurm import chains
    from pbt_tracker.backends.slurm.recover import orphans_of, recover_unanswered

    result = SyncResult()
    with store.read() as connection:
        unanswered = followed.unanswered(connection, SLURM, refused_since=utcnow() - REFUSAL_RECHECK)
        rows = followed.tracked_jobs(connection, SLURM)
        users = queries.usernames(connection, SLURM)
        scripts = queries.script_owners(connection, SLURM) if queries.jobs_send_successors(connection) else set()
    job_ids = {row.job_id for row in rows}
    result.asked += len(job_ids)
    if not unanswered and not rows:
        return result
    # Refusals alone are looked for quietly: sbatch's refusal is the controller's own word, so a scheduler that
    # cannot be asked now leaves them as they are, for a later sync, and only a job found by its tag is written.
    refusals_only = not rows and all(row.state == states.SUBMIT_FAILED for row in unanswered)
    # Which lost answers are not on their way any more is read before the listing: an sbatch that finishes in
    # between then shows its job in the listing, rather than being taken for one that never reached Slurm.
    orphans = orphans_of(unanswered, result)
    deadline = Deadline()  # squeue, scontrol and sacct share one time-out: a hung controller is waited for once
    folders = tuple(sorted({(os.path.dirname(path) or ".") + "/" for path in scripts}))  # as Path(path).parent
    tags = tuple(sorted({orphan.tag for orphan in orphans}))  # a job whose id never reached the record
    # The tracked jobs are read while squeue lists; `result` is the listing's alone until it is back. Only a
    # sync with jobs to find (a lost answer's, or one a job sent itself) lists all of a user's jobs.
    markers = (*tags, *folders)
    listed = InBackground(lambda: _list_jobs(users, job_ids, markers, result, deadline) if markers
                          else _query_jobs(users, job_ids, result, deadline))
    if not refusals_only:  # the answer is written down once it comes: its check of the record runs meanwhile
        store.check_before_writing()
    tracked = [_tracked(row) for row in rows]
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
    recover_unanswered(store, orphans, listing, result, deadline)
    if result.changed > changed:  # jobs found by their tag are asked about with the rest, in this sync
        with store.read() as connection:
            tracked = [_tracked(row) for row in followed.tracked_jobs(connection, SLURM)]
    if tracked:
        _sync_known_jobs(store, tracked, listing, result, deadline)
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


def _list_jobs(users: list[str], job_ids: set[str], markers: tuple[str, ...], result: SyncResult,
               deadline: Deadline) -> Listing:
    """Every job of the workdir's users that concerns the record: tracked, tagged, or running a recorded script.

    scontrol is asked only where squeue failed, and only with what is left of `deadline`.
    """
    jobs: dict[str, JobObservation] = {}
    listed_any = False
    try:
        for user in users:
            result.scheduler_calls += 1
            own, listed = slurm.list_user_jobs(user, job_ids, markers, deadline)
            jobs.update(own)
            listed_any = listed_any or listed
        return Listing(jobs, complete=True, listed_any=listed_any, deadline=deadline, asked=job_ids)
    except SchedulerError as squeue_error:
        return _from_scontrol(squeue_error, result, deadline)


def _query_jobs(users: list[str], job_ids: set[str], result: SyncResult, deadline: Deadline) -> Listing:
    """The tracked jobs alone, asked by their ids: what most syncs need, at a cost that ignores the user's other jobs.

    Where squeue lists none of them, whether it lists any job of the users
    decides if their absence is evidence (see `evidence`); only then is that
    asked, by each user's job ids alone.
    """
    try:
        result.scheduler_calls += 1
        jobs, listed_any = slurm.query_squeue(sorted(job_ids), deadline)
        for user in users if job_ids and not listed_any else ():
            result.scheduler_calls += 1
            listed_any = slurm.lists_any_job(user)
            if listed_any:
                break
        return Listing(jobs, complete=False, listed_any=listed_any, deadline=deadline, asked=job_ids)
    except SchedulerError as squeue_error:
        return _from_scontrol(squeue_error, result, deadline)


def _from_scontrol(squeue_error: SchedulerError, result: SyncResult, deadline: Deadline) -> Listing:
    result.scheduler_calls += 1
    try:
        jobs = slurm.query_scontrol(deadline)
    except SchedulerError as scontrol_error:
        raise SchedulerError(
            f"cannot read job states: {squeue_error}, and then {scontrol_error}; check that Slurm answers "
            "(run squeue), or pass --no-sync to use the record as it is"
        ) from None
    result.notes.append(f"squeue failed ({squeue_error}); asked scontrol instead")
    return Listing(jobs, complete=False, deadline=deadline)


def list_cancelled(job_ids: list[str]) -> InBackground[tuple[dict[str, JobObservation], bool]]:
    """squeue asked about jobs scancel has just accepted, started at once: `sync_cancelled` reads its answer."""
    return InBackground(lambda: slurm.query_squeue(job_ids))


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

