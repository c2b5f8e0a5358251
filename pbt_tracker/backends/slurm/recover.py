"""Settling submissions whose sbatch answer was lost: a submitter that died, or an sbatch failure that proves nothing.

Each such job carries a tag in its Slurm comment and its mark in its job name
(an array's tasks share their array's), so the sync's one squeue listing
finds the ones that reached Slurm, and sacct, which stores every job's name,
finds the ones that have come and gone. The others are SUBMIT_FAILED only on
the evidence `evidence` asks for, so that resubmit-failed never sends a job
that may already exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pbt_tracker import states
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm import evidence
from pbt_tracker.backends.slurm.orphans import Orphan
from pbt_tracker.backends.slurm.tags import name_mark
from pbt_tracker.errors import AccountingUnavailable
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store import sync as followed
from pbt_tracker.store.connection import parse_time
from pbt_tracker.store.run_values import RunValues

if TYPE_CHECKING:
    import sqlite3

    from pbt_tracker.backends.base import SyncResult
    from pbt_tracker.backends.slurm.listing import Listing
    from pbt_tracker.backends.slurm.output import JobObservation
    from pbt_tracker.commands import Deadline
    from pbt_tracker.store.sync import JobHolder

# sacct is asked from this long before the launch began to this long after now: wider than any clock skew
# between the login node and the controller. The tag, not the time, identifies the job.
ACCOUNTING_MARGIN = timedelta(hours=1)

NO_ACCOUNTING_NOTE = (
    "sacct is not available ({reason}): {count} submission(s) whose sbatch answer was lost stay SUBMIT_UNCERTAIN "
    "until squeue lists their job; `pbt-track resubmit-failed --include-uncertain` sends them again"
)


def recover_unanswered(store: Store, orphans: list[Orphan], listing: Listing, result: SyncResult,
                       deadline: Deadline | None = None) -> None:
    """Settle each orphan (see `orphans_of`) on what the listing, taken after `orphans_of`, and sacct show."""
    if not orphans:
        return
    tagged = listing.tagged()
    listed = {orphan.submission_id: _jobs_with_tag(orphan, tagged) for orphan in orphans}
    found_now = {job_id for jobs in listed.values() for job_id in jobs}  # the record's, by their tags
    accounted = _accounted([orphan for orphan in orphans if not listed[orphan.submission_id]], store, result,
                           deadline, found_now)
    now = utcnow()
    twice: set[str] = set()
    held: set[str] = set()
    with store.write() as connection:
        for orphan in orphans:
            submission = queries.submission(connection, orphan.submission_id)
            if submission["job_id"] is not None or submission["state"] not in (*_UNANSWERED, states.SUBMIT_FAILED):
                continue  # settled meanwhile by someone else
            found, where = listed[orphan.submission_id], "squeue"
            answer = accounted.get(orphan.username)
            if not found and answer is not None:
                found, where = _in_array(orphan, evidence.accounted_with(answer[0], orphan.tag)), "sacct"
            if submission["state"] == states.SUBMIT_FAILED and not found:
                continue  # refused, and no job of its tag has turned up: the refusal stands
            intended = parse_time(submission["intended_at"])
            assert intended is not None
            outcome = evidence.uncertain_outcome(bool(found), answer is not None and answer[1], not listing.empty,
                                                 intended, now)
            holder = _holder(connection, found[0], submission["array_id"]) if outcome == states.SUBMITTED else None
            if holder is not None:
                outcome, values = states.SUBMIT_UNCERTAIN, RunValues()
                detail = holder.refusal(found[0], f"{where} lists its tag {orphan.tag} on")
                if orphan.tag not in held:  # an array's tasks share its tag: said once
                    held.add(orphan.tag)
                    result.notes.append(f"{orphan.tag} stays {outcome}: {detail}")
            elif outcome == states.SUBMITTED:
                values = RunValues(job_id=found[0], submitted_at=parse_time(submission["submitted_at"]) or now,
                                   unseen_since=None, unseen_count=0)
                detail = f"found in {where} by its tag {orphan.tag}"
                if submission["state"] == states.SUBMIT_FAILED:
                    detail += ", though sbatch answered a refusal: the controller had queued it"
                if len(found) > 1 and orphan.tag not in twice:
                    twice.add(orphan.tag)
                    result.notes.append(f"{orphan.tag} reached Slurm more than once: jobs {', '.join(found)}")
            elif outcome == states.SUBMIT_FAILED:
                detail = (f"no job carries its tag: sacct lists none named with {name_mark(orphan.tag)} since its "
                          "launch began, so it never reached Slurm")
                values = RunValues(submit_stderr=submission["submit_stderr"] or detail)
            else:
                outcome = states.SUBMIT_UNCERTAIN
                values = RunValues(unseen_since=parse_time(submission["unseen_since"]) or now,
                                   unseen_count=(submission["unseen_count"] or 0) + 1)
                detail = ("no answer proves whether its job exists; asked again at the next sync "
                          "(`resubmit-failed --include-uncertain` sends it again)")
            if writes.change_state(connection, orphan.submission_id, submission["state"], outcome, now, detail,
                                   values):
                result.changed += outcome != submission["state"]


_UNANSWERED = (states.SUBMITTING, states.UNKNOWN, states.SUBMIT_UNCERTAIN)


def _holder(connection: sqlite3.Connection, job_id: str, array_id: int | None) -> JobHolder | None:
    """The live submission, outside the orphan's own array, that already holds a job id found by a tag.

    The tag says the job is this submission's, the record says the id is
    another's: a scheduler that gave one id twice. Neither claim is dropped
    for the other; the orphan stays uncertain.
    """
    holder = followed.live_holder(connection, SLURM, job_id)
    return None if holder is None or (array_id is not None and holder.array_id == array_id) else holder


def _accounted(orphans: list[Orphan], store: Store, result: SyncResult, deadline: Deadline | None,
               found_now: set[str]) -> dict[str, tuple[dict[str, list[JobObservation]], bool]]:
    """Per user, sacct's jobs since the orphans' launches began, and whether that answer speaks for this record
    (lists a job id on record, or one squeue has just found by its tag)."""
    if not orphans:
        return {}
    with store.read() as connection:
        recorded = followed.recorded_job_ids(connection, SLURM) | found_now
    now = utcnow()
    answers = {}
    for user in sorted({orphan.username for orphan in orphans}):
        since = min(orphan.launched_at for orphan in orphans if orphan.username == user)
        result.scheduler_calls += 1
        try:
            answer = slurm.query_sacct_window(user, since - ACCOUNTING_MARGIN, now + ACCOUNTING_MARGIN, deadline)
        except AccountingUnavailable as error:
            count = sum(orphan.username == user and not orphan.refused for orphan in orphans)
            if count:
                result.notes.append(NO_ACCOUNTING_NOTE.format(reason=error, count=count))
            continue
        answers[user] = (answer, evidence.answers_for(answer, recorded))
    return answers


def _jobs_with_tag(orphan: Orphan, tagged: dict[str, list[str]]) -> list[str]:
    """The jobs carrying the orphan's tag; for an array task, its own task in each array found."""
    return _in_array(orphan, tagged.get(orphan.tag, []))


def _in_array(orphan: Orphan, found: list[str]) -> list[str]:
    """The jobs found, or for an array task its own task in each array found (`123_[0-4]` is array 123)."""
    if orphan.array_task is None:
        return found
    arrays = sorted({job_id.split("_", 1)[0] for job_id in found}, key=int)
    return [f"{array}_{orphan.array_task}" for array in arrays]
