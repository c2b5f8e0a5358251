"""Settling submissions whose sbatch answer was lost: a submitter that died, or an sbatch failure that proves nothing.

Each such job carries a tag in its Slurm comment (an array's tasks share
their array's), so the sync's one squeue listing finds the ones that reached
Slurm. The others are SUBMIT_FAILED only on the evidence `evidence` asks for,
so that resubmit-failed never sends a job that may already exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pbt_tracker import processes, states
from pbt_tracker.backends.slurm import evidence
from pbt_tracker.backends.slurm.tags import TAG_PREFIX, array_tag, submission_tag, tag_argument
from pbt_tracker.processes import ProcessId
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store.connection import parse_time
from pbt_tracker.store.run_values import RunValues

if TYPE_CHECKING:
    import sqlite3
    from datetime import datetime, timedelta

    from pbt_tracker.backends.base import SyncResult
    from pbt_tracker.backends.slurm.listing import Listing
    from pbt_tracker.store.sync import UnansweredSubmission

# Records written before launches found a running sbatch by its tag noted the sbatch's pid,
# with its start taken from the boot clock at spawn time, a tick or two off the real one.
SUBMIT_TICKS = 50


@dataclass(frozen=True)
class _Orphan:
    submission_id: int
    tag: str
    array_task: int | None = None


def recover_unanswered(store: Store, orphans: list[_Orphan], listing: Listing, result: SyncResult) -> None:
    """Settle each orphan (see `orphans_of`) on what the listing, taken after `orphans_of`, shows."""
    if not orphans:
        return
    tagged = listing.tagged()
    now = utcnow()
    twice: set[str] = set()
    with store.write() as connection:
        for orphan in orphans:
            submission = queries.submission(connection, orphan.submission_id)
            if submission["job_id"] is not None or submission["state"] not in _UNANSWERED:
                continue  # settled meanwhile by someone else
            found = _jobs_with_tag(orphan, tagged)
            intended = parse_time(submission["intended_at"])
            assert intended is not None
            limit = listing.job_age_limit() if not found else evidence.CONFIRM_GAP  # MinJobAge only if needed
            outcome = evidence.uncertain_outcome(
                bool(found), listing.empty, parse_time(submission["unseen_since"]), submission["unseen_count"] or 0,
                intended, now, limit,
            )
            values = RunValues()
            if outcome == states.SUBMITTED:
                values = RunValues(job_id=found[0], submitted_at=parse_time(submission["submitted_at"]) or now,
                                   unseen_since=None, unseen_count=0)
                detail = f"found in squeue by its tag {orphan.tag}"
                if len(found) > 1 and orphan.tag not in twice:
                    twice.add(orphan.tag)
                    result.notes.append(f"{orphan.tag} reached Slurm more than once: jobs {', '.join(found)}")
            elif outcome == states.SUBMIT_FAILED:
                detail = "no job carries its tag: it never reached Slurm"
                values = RunValues(submit_stderr=submission["submit_stderr"] or detail)
            else:
                outcome, values, detail = _undecided(submission, now, intended, limit)
            if writes.change_state(connection, orphan.submission_id, submission["state"], outcome, now, detail,
                                   values):
                result.changed += outcome != submission["state"]


_UNANSWERED = (states.SUBMITTING, states.UNKNOWN, states.SUBMIT_UNCERTAIN)


def _undecided(submission: sqlite3.Row, now: datetime, intended: datetime,
               limit: timedelta) -> tuple[str, RunValues, str]:
    """No proof either way: count the miss; past MinJobAge, only a person can tell whether the job ran."""
    values = RunValues(unseen_since=parse_time(submission["unseen_since"]) or now,
                       unseen_count=(submission["unseen_count"] or 0) + 1)
    if now - intended > limit:
        return (states.SUBMIT_UNCERTAIN, values,
                "Slurm no longer lists what it ran so long ago: check `sacct` for the job; resubmit-failed "
                "will not send it")
    return submission["state"], values, "not listed by an empty squeue answer; asked again at the next sync"


def orphans_of(rows: list[UnansweredSubmission], result: SyncResult) -> list[_Orphan]:
    """The unanswered submissions whose sbatch is over: a submitter still at work is left alone."""
    here = processes.hostname()
    orphans = []
    in_flight = 0
    elsewhere: set[str] = set()
    sending: set[str] | None = None  # the tags on running sbatch command lines, read once
    for row in rows:
        if row.host and row.host != here:
            elsewhere.add(row.host)
            continue
        if row.state != states.SUBMIT_UNCERTAIN:
            if row.runner_pid and processes.is_running(ProcessId(row.runner_pid, row.runner_start, here)):
                continue  # its submitter is still at work
        if row.array_id is None:
            orphan = _Orphan(row.id, submission_tag(row.uuid, row.id))
        else:
            orphan = _Orphan(row.id, array_tag(row.uuid, row.array_id), row.array_task)
        if sending is None:
            sending = processes.arguments_in_flight(tag_argument(TAG_PREFIX))
        if tag_argument(orphan.tag) in sending or (
            row.submit_pid
            and processes.is_running(ProcessId(row.submit_pid, row.submit_pid_start, here), tolerance=SUBMIT_TICKS)
        ):
            in_flight += 1  # the submitter died, but its sbatch may still create the job
            continue
        orphans.append(orphan)
    result.notes += [f"submissions from {host} that are not settled can only be checked there" for host in sorted(elsewhere)]
    if in_flight:
        result.notes.append(f"{in_flight} submission(s) are still being sent; sync again when their sbatch is done")
    return orphans


def _jobs_with_tag(orphan: _Orphan, tagged: dict[str, list[str]]) -> list[str]:
    """The jobs carrying the orphan's tag; for an array task, its own task in each array found."""
    found = tagged.get(orphan.tag, [])
    if orphan.array_task is None:
        return found
    arrays = sorted({job_id.split("_", 1)[0] for job_id in found}, key=int)
    return [f"{array}_{orphan.array_task}" for array in arrays]
