"""Bringing job states up to date from Slurm, at a cost that does not grow with the job count.

One squeue call over every job not yet final; one sacct call only for the
jobs squeue shows as ended or no longer knows; scontrol only when squeue
itself fails. Jobs already final are never asked about again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pbt_tracker import processes, slurm, states
from pbt_tracker.errors import AccountingUnavailable, SchedulerError
from pbt_tracker.processes import ProcessId
from pbt_tracker.sbatch_script import TAG_PREFIX, array_tag, submission_tag, tag_argument
from pbt_tracker.slurm import JobObservation
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store.connection import parse_time
from pbt_tracker.tracker.record import write_scancel_script

# Records written before launches found a running sbatch by its tag noted the sbatch's pid,
# with its start taken from the boot clock at spawn time, a tick or two off the real one.
SUBMIT_TICKS = 50

# Clocks of the login node and the controller may disagree by this much.
CLOCK_SKEW = timedelta(minutes=5)

ACCOUNTING_NOTE = (
    "sacct is not available ({reason}): jobs Slurm has already forgotten are shown as UNKNOWN, "
    "so final states may be incomplete"
)


@dataclass
class SyncResult:
    asked: int = 0
    changed: int = 0
    scheduler_calls: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Tracked:
    submission_id: int
    job_id: str
    state: str
    intended_at: datetime
    node: str | None
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    username: str
    cancel_requested_at: datetime | None


def sync_workdir(store: Store) -> SyncResult:
    """Sync every backend's jobs; scancel.sh follows when a Slurm job has ended."""
    from pbt_tracker.tracker.local import sync_processes

    result = sync_slurm(store)
    if result.changed:
        write_scancel_script(store)
    asked, changed, notes = sync_processes(store)
    result.asked += asked
    result.changed += changed
    result.notes += notes
    return result


def sync_slurm(store: Store) -> SyncResult:
    result = SyncResult()
    _recover_unanswered(store, result)
    _sync_known_jobs(store, result)
    return result


def _recover_unanswered(store: Store, result: SyncResult) -> None:
    """Settle submissions whose submitter stopped before recording sbatch's answer.

    Their jobs carry a tag in their Slurm comment (an array's tasks share
    their array's): one squeue call finds the ones that reached Slurm; the
    others never did, and become SUBMIT_FAILED so that resubmit-failed sends
    them. A submitter still running is left alone.
    """
    with store.read() as connection:
        rows = queries.unanswered(connection, "slurm")
    here = processes.hostname()
    orphans = []
    in_flight = 0
    elsewhere: set[str] = set()
    sending: set[str] | None = None  # the tags on running sbatch command lines, read once
    for (submission_id, host, runner_pid, runner_start, submit_pid, submit_start, launch_uuid, username,
         array_id, array_task) in rows:
        if host and host != here:
            elsewhere.add(host)
            continue
        if runner_pid and processes.is_running(ProcessId(runner_pid, runner_start, here)):
            continue  # its submitter is still at work
        if array_id is None:
            orphan = _Orphan(submission_id, submission_tag(launch_uuid, submission_id), username)
        else:
            orphan = _Orphan(submission_id, array_tag(launch_uuid, array_id), username, array_task)
        if sending is None:
            sending = processes.arguments_in_flight(tag_argument(TAG_PREFIX))
        if tag_argument(orphan.tag) in sending or (
            submit_pid and processes.is_running(ProcessId(submit_pid, submit_start, here), tolerance=SUBMIT_TICKS)
        ):
            in_flight += 1  # the submitter died, but its sbatch may still create the job
            continue
        orphans.append(orphan)
    result.notes += [f"submissions from {host} that are not settled can only be checked there" for host in sorted(elsewhere)]
    if in_flight:
        result.notes.append(f"{in_flight} submission(s) are still being sent; sync again when their sbatch is done")
    if not orphans:
        return
    tagged: dict[str, list[str]] = {}
    for username in sorted({orphan.username for orphan in orphans}):
        result.scheduler_calls += 1
        tagged.update(slurm.query_tagged_jobs(username, TAG_PREFIX))
    now = utcnow()
    twice: set[str] = set()
    with store.write() as connection:
        for orphan in orphans:
            submission = queries.submission(connection, orphan.submission_id)
            if submission["job_id"] is not None or submission["state"] not in (states.SUBMITTING, states.UNKNOWN):
                continue  # settled meanwhile by someone else
            found = _jobs_with_tag(orphan, tagged)
            values: dict[str, object] = {}
            if found:
                values.update(job_id=found[0], submitted_at=parse_time(submission["submitted_at"]) or now)
                state, detail = states.SUBMITTED, f"found in squeue by its tag {orphan.tag}"
                if len(found) > 1 and orphan.tag not in twice:
                    twice.add(orphan.tag)
                    result.notes.append(f"{orphan.tag} reached Slurm more than once: jobs {', '.join(found)}")
            else:
                state, detail = states.SUBMIT_FAILED, "its submitter stopped before the job reached Slurm"
                values["submit_stderr"] = submission["submit_stderr"] or detail
            if writes.change_state(connection, orphan.submission_id, submission["state"], state, now, detail,
                                   **values):
                result.changed += 1


@dataclass(frozen=True)
class _Orphan:
    submission_id: int
    tag: str
    username: str
    array_task: int | None = None


def _jobs_with_tag(orphan: _Orphan, tagged: dict[str, list[str]]) -> list[str]:
    """The jobs carrying the orphan's tag; for an array task, its own task in each array found."""
    found = tagged.get(orphan.tag, [])
    if orphan.array_task is None:
        return found
    arrays = sorted({job_id.split("_", 1)[0] for job_id in found}, key=int)
    return [f"{array}_{orphan.array_task}" for array in arrays]


def _sync_known_jobs(store: Store, result: SyncResult) -> None:
    with store.read() as connection:
        rows = queries.tracked_jobs(connection, "slurm")
    tracked = [
        _Tracked(row["id"], row["job_id"], row["state"], parse_time(row["intended_at"]), row["node"],
                 parse_time(row["started_at"]), parse_time(row["ended_at"]), row["exit_code"], row["username"],
                 parse_time(row["cancel_requested_at"]))
        for row in rows
    ]
    result.asked += len({t.job_id for t in tracked})
    if not tracked:
        return
    observations = _observe(tracked, result)
    now = utcnow()
    updates = []
    for item in tracked:
        observation = observations.get(item.job_id)
        values = _new_values(item, observation)
        if values is None:
            continue  # nothing new: no write, so a sync of a quiet queue costs one read
        detail = observation.source if observation else (
            "cancelled by pbt-track; Slurm no longer knows it" if item.cancel_requested_at
            else "Slurm no longer knows this job"
        )
        updates.append((item, values, detail))
    if not updates:
        return
    with store.write() as connection:
        for item, values, detail in updates:
            state = values.pop("state")
            if writes.change_state(connection, item.submission_id, item.state, state, now, detail, **values):
                result.changed += state != item.state


def _observe(tracked: list[_Tracked], result: SyncResult) -> dict[str, JobObservation | None]:
    job_ids = sorted({t.job_id for t in tracked})
    not_before = {t.job_id: t.intended_at - CLOCK_SKEW for t in tracked}
    result.scheduler_calls += 1
    try:
        users = {t.username for t in tracked}
        queue = slurm.query_squeue(job_ids, user=users.pop() if len(users) == 1 else None)
    except SchedulerError as squeue_error:
        result.scheduler_calls += 1
        try:
            queue = slurm.query_scontrol()
        except SchedulerError as scontrol_error:
            raise SchedulerError(
                f"cannot read job states: {squeue_error}, and then {scontrol_error}; check that Slurm answers "
                "(run squeue), or pass --no-sync to use the record as it is"
            ) from None
        result.notes.append(f"squeue failed ({squeue_error}); asked scontrol instead")
    queue = {job_id: obs for job_id, obs in queue.items() if _is_ours(obs, not_before.get(job_id))}

    ended = [job_id for job_id in job_ids if job_id not in queue or queue[job_id].state in states.FINAL]
    accounted: dict[str, list[JobObservation]] = {}
    if ended:
        result.scheduler_calls += 1
        try:
            accounted = slurm.query_sacct(ended)
        except AccountingUnavailable as error:
            result.notes.append(ACCOUNTING_NOTE.format(reason=error))

    observations: dict[str, JobObservation | None] = {}
    for job_id in job_ids:
        live = queue.get(job_id)
        record = _first_ours(accounted.get(job_id, ()), not_before[job_id])
        if live is not None and live.state not in states.FINAL:
            observations[job_id] = live
        elif record is not None and (live is None or record.state in states.FINAL):
            observations[job_id] = record
        else:
            observations[job_id] = live
    return observations


def _is_ours(observation: JobObservation, not_before: datetime | None) -> bool:
    """A job with our id but submitted before we asked for ours is an older job whose id was reused."""
    if observation.submitted_at is None or not_before is None:
        return True
    return observation.submitted_at >= not_before


def _first_ours(rows: Iterable[JobObservation], not_before: datetime) -> JobObservation | None:
    ours = [row for row in rows if _is_ours(row, not_before)]
    ours.sort(key=lambda row: row.submitted_at or datetime.min)
    return ours[0] if ours else None


def _new_values(item: _Tracked, observation: JobObservation | None) -> dict[str, object] | None:
    """What an observation changes on a submission, or None when it changes nothing.

    A job pbt-track cancelled that Slurm no longer knows was cancelled: Slurm
    keeps no record at all of an array task cancelled while it was pending.
    """
    if observation is not None:
        state = observation.state or states.UNKNOWN
    else:
        state = states.CANCELLED if item.cancel_requested_at is not None else states.UNKNOWN
    values: dict[str, object] = {
        "state": state,
        "node": item.node,
        "started_at": item.started_at,
        "ended_at": item.ended_at,
        "exit_code": item.exit_code,
    }
    if observation is not None:
        values["node"] = observation.node or item.node
        values["started_at"] = observation.started_at or item.started_at
        if state in states.FINAL:
            values["ended_at"] = observation.ended_at or item.ended_at
            values["exit_code"] = observation.exit_code
    current = {"state": item.state, "node": item.node, "started_at": item.started_at, "ended_at": item.ended_at,
               "exit_code": item.exit_code}
    return None if values == current else values
