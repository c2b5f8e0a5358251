"""What squeue (or scontrol) lists in one sync: asked first, and read from without asking again.

A sync starts its listing before anything else it needs (`start_listing`):
only the job ids to ask about are read first, and the rest of the sync's
reading and loading happens while squeue answers.
"""

from __future__ import annotations

import os
from datetime import timedelta

from pbt_tracker import states
from pbt_tracker.backends.base import SyncResult
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.orphans import Orphan, orphans_of
from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.tags import tags_in
from pbt_tracker.commands import Deadline
from pbt_tracker.errors import SchedulerError
from pbt_tracker.in_background import InBackground
from pbt_tracker.store import Store, queries, utcnow
from pbt_tracker.store import sync as followed


# How long after sbatch answered a refusal a sync that asks the scheduler anyway still looks for the job by its tag:
# a controller under load has queued a job and then answered its client with an error. Found, the attempt is
# SUBMITTED after all.
REFUSAL_RECHECK = timedelta(minutes=10)


# A plain class rather than a dataclass: a cancel's start-up is timed, and defining a dataclass is not free.
class Listing:
    """What squeue (or scontrol) said about every job of the workdir's users, read once per sync."""

    __slots__ = ("jobs", "complete", "min_job_age", "listed_any", "deadline", "asked")

    def __init__(self, jobs: dict[str, JobObservation], complete: bool, listed_any: bool | None = None,
                 deadline: Deadline | None = None, asked: set[str] | None = None) -> None:
        self.jobs = jobs
        self.complete = complete  # squeue answered with everything it knows (scontrol's fallback has no scripts)
        # Where `jobs` holds only the lines that concern the record: whether squeue listed others.
        self.listed_any = listed_any
        # The job ids squeue was asked about, or None where it listed every job it has (scontrol's fallback).
        self.asked = asked
        self.min_job_age: timedelta | None = None  # Slurm's MinJobAge, read the first time a rule needs it
        self.deadline = deadline  # the sync's, which reading MinJobAge from the controller shares

    @property
    def empty(self) -> bool:
        return not self.listed_any if self.listed_any is not None else not self.jobs

    def lacks(self, job_id: str) -> bool:
        """Whether the controller answered for this job without listing it: it neither waits nor runs there."""
        return (job_id not in self.jobs and not self.empty
                and (self.asked is None or job_id in self.asked))

    def tagged(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for job_id, observation in self.jobs.items():
            for tag in tags_in(observation.comment):
                found.setdefault(tag, []).append(job_id)
        return found

    def job_age_limit(self) -> timedelta:
        if self.min_job_age is None:
            self.min_job_age = timedelta(seconds=slurm.min_job_age(deadline=self.deadline))
        return self.min_job_age


class StartedListing:
    """A sync's listing on its way, and what was read to ask for it."""

    __slots__ = ("result", "listed", "job_ids", "orphans", "refusals_only", "deadline")

    def __init__(self, result: SyncResult, listed: InBackground[Listing], job_ids: set[str], orphans: list[Orphan],
                 refusals_only: bool, deadline: Deadline) -> None:
        self.result = result  # the listing's alone until it is back
        self.listed = listed
        self.job_ids = job_ids  # what squeue is asked about
        self.orphans = orphans  # lost sbatch answers whose submitter is gone (`orphans.orphans_of`)
        self.refusals_only = refusals_only
        self.deadline = deadline  # squeue, scontrol and sacct share one time-out: a hung controller is waited for once


def start_listing(store: Store) -> StartedListing | None:
    """squeue started on the workdir's Slurm jobs (or every job of its users, where some are to be found); None
    when there is nothing to ask about."""
    result = SyncResult()
    with store.read() as connection:
        unanswered = followed.unanswered(connection, SLURM, refused_since=utcnow() - REFUSAL_RECHECK)
        job_ids = followed.tracked_job_ids(connection, SLURM)
        users = queries.usernames(connection, SLURM)
        scripts = queries.script_owners(connection, SLURM) if queries.jobs_send_successors(connection) else set()
    result.asked += len(job_ids)
    if not unanswered and not job_ids:
        return None
    # Refusals alone are looked for quietly: sbatch's refusal is the controller's own word, so a scheduler that
    # cannot be asked now leaves them as they are, for a later sync, and only a job found by its tag is written.
    refusals_only = not job_ids and all(row.state == states.SUBMIT_FAILED for row in unanswered)
    orphans: list[Orphan] = []
    if unanswered:
        # Which lost answers are not on their way any more is read before the listing: an sbatch that finishes in
        # between then shows its job in the listing, rather than being taken for one that never reached Slurm.
        orphans = orphans_of(unanswered, result)
    deadline = Deadline()
    folders = tuple(sorted({(os.path.dirname(path) or ".") + "/" for path in scripts}))  # as Path(path).parent
    tags = tuple(sorted({orphan.tag for orphan in orphans}))  # a job whose id never reached the record
    # Only a sync with jobs to find (a lost answer's, or one a job sent itself) lists all of a user's jobs.
    markers = (*tags, *folders)
    listed = InBackground(lambda: _list_jobs(users, job_ids, markers, result, deadline) if markers
                          else _query_jobs(users, job_ids, result, deadline))
    return StartedListing(result, listed, job_ids, orphans, refusals_only, deadline)


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
