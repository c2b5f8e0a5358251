"""The state machine of a tracked Slurm job: which observation moves which state where.

Pure functions over what one sync saw; the sync applies what they return.
The rules, which docs/guarantees.md repeats:

- A state changes on evidence only. squeue or sacct naming the job (by its
  tag where Slurm shows it, else by a submit time no earlier than our intent)
  is evidence; its newest run decides (a requeued job's older runs are history).
- An answer that lists no job at all (squeue exiting 0 with nothing, as after
  a controller restart) is not evidence that any job ended: states stay.
- A job missing from an answer that lists other jobs, and from sacct, becomes
  UNKNOWN, which is not final: the next sync asks again and the job stays in
  `cancel` and scancel.sh. It becomes LOST (final) only when it has been
  missing for more than the cluster's MinJobAge, over at least two syncs.
- A job pbt-track cancelled (scancel accepted it) that Slurm no longer lists
  is CANCELLED: Slurm keeps no record of an array task cancelled while pending.
- A job that ended NODE_FAIL, BOOT_FAIL or PREEMPTED keeps that state unless a
  newer, live run of it is listed (Slurm requeued it). Answers that list other
  jobs but not it are counted; once two of them some time apart have lacked
  it, Slurm has forgotten it and sync stops asking.
- An sbatch whose answer was lost (SUBMITTING after its submitter died, or
  SUBMIT_UNCERTAIN) is SUBMITTED when a job with its tag is listed; it is
  SUBMIT_FAILED only when an answer listing other jobs lacks the tag, or two
  empty answers some time apart do, while Slurm would still list the job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pbt_tracker import states
from pbt_tracker.backends.slurm.output import JobObservation

# Two answers closer together than this may be one passing fault.
CONFIRM_GAP = timedelta(seconds=states.CONFIRM_GAP_SECONDS)


class Tracked(NamedTuple):
    """A submission with a job id, as the record holds it before this sync (a named tuple, as `JobObservation`)."""

    submission_id: int
    job_id: str
    state: str
    intended_at: datetime
    node: str | None
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    exit_signal: int | None
    pending_reason: str | None
    unseen_since: datetime | None
    unseen_count: int
    username: str
    cancel_requested_at: datetime | None
    tag: str | None


class Change(NamedTuple):
    state: str
    values: dict[str, object]
    detail: str


def choose(live: JobObservation | None, accounted: JobObservation | None) -> JobObservation | None:
    """squeue's word while the job is live there; otherwise sacct's newest run, where it has one."""
    if live is not None and live.state not in states.FINAL:
        return live
    if accounted is not None and (live is None or accounted.state in states.FINAL):
        return accounted
    return live


def next_state(
    item: Tracked, observation: JobObservation | None, listing_empty: bool, now: datetime, min_job_age: timedelta,
) -> Change | None:
    """What this sync changes on a tracked job, or None when it changes nothing."""
    if item.state in states.MAY_BE_REQUEUED:
        # Ended on record, watched for Slurm's own requeue: only a newer live run changes its state.
        if observation is None and not listing_empty:
            # Not listed: Slurm is forgetting the job, and the store stops asking once answers confirm it.
            return _change(item, item.state, {"unseen_since": item.unseen_since or now,
                                              "unseen_count": item.unseen_count + 1}, "Slurm no longer lists it")
        if observation is None or observation.state in states.FINAL:
            return None
        earlier_run: dict[str, Any] = {"node": None, "started_at": None, "ended_at": None, "exit_code": None, "exit_signal": None}
        change = _seen(item._replace(**earlier_run), observation)  # the new run owes the old one nothing
        assert change is not None  # its state is live, the record's final
        return Change(change.state, {**earlier_run, **change.values}, change.detail)
    if observation is not None:
        return _seen(item, observation)
    if item.cancel_requested_at is not None:
        return _change(item, states.CANCELLED, {"unseen_since": None, "unseen_count": 0},
                       "cancelled by pbt-track; Slurm no longer knows it")
    if listing_empty:
        return None  # no evidence either way
    since = item.unseen_since or now
    count = item.unseen_count + 1
    unseen = {"unseen_since": since, "unseen_count": count}
    if count >= states.MIN_UNSEEN_SYNCS and now - since > min_job_age:
        return _change(item, states.LOST, unseen,
                       f"not seen by Slurm in {count} syncs over {int((now - since).total_seconds())} s "
                       f"(MinJobAge {int(min_job_age.total_seconds())} s): its end will never be known")
    return _change(item, states.UNKNOWN, unseen, "Slurm did not list this job; asked again at the next sync")


def _seen(item: Tracked, observation: JobObservation) -> Change | None:
    state = observation.state or states.UNKNOWN
    values: dict[str, object] = {
        "node": observation.node or item.node,
        "started_at": observation.started_at or item.started_at,
        "ended_at": item.ended_at,
        "exit_code": item.exit_code,
        "exit_signal": item.exit_signal,
        "pending_reason": observation.reason if state in states.WAITING else None,
        "unseen_since": None,
        "unseen_count": 0,
    }
    if state in states.FINAL:
        values.update(ended_at=observation.ended_at or item.ended_at, exit_code=observation.exit_code,
                      exit_signal=observation.exit_signal)
    elif state in states.WAITING:
        # Waiting again after a run (Slurm requeued it): that run's node and start are not this one's, and a
        # start squeue shows for a pending job is only its guess. Its elapsed time restarts at its next start.
        values.update(node=None, started_at=None)
    return _change(item, state, values, observation.source)


# The columns of a run that a change may set, each also a field of Tracked.
_RUN_COLUMNS = frozenset(
    {"node", "started_at", "ended_at", "exit_code", "exit_signal", "pending_reason", "unseen_since", "unseen_count"}
)


def _change(item: Tracked, state: str, values: dict[str, object], detail: str) -> Change | None:
    assert values.keys() <= _RUN_COLUMNS, values
    changed = {key: value for key, value in values.items() if getattr(item, key) != value}
    if state == item.state and not changed:
        return None  # nothing new: no write, so a sync of a quiet queue costs one read
    return Change(state, changed, detail)


def uncertain_outcome(
    found: bool, listing_empty: bool, unseen_since: datetime | None, unseen_count: int, intended_at: datetime,
    now: datetime, min_job_age: timedelta,
) -> str | None:
    """For a submission whose sbatch answer was lost: SUBMITTED, SUBMIT_FAILED, or None (not decided yet).

    Slurm lists a job for at least MinJobAge after it ends, so within that
    time a listing of the user's other jobs without the tag proves the job was
    never created. An empty listing proves nothing, however often it comes: a
    controller that lost its state, or a wrapper that answers nothing, looks
    the same, and a second copy of a running policy is the price of believing
    it. `unseen_since` and `unseen_count` are kept for the record, not as proof.
    """
    if found:
        return states.SUBMITTED
    if now - intended_at > min_job_age:
        return None  # the job could have come and gone: only a person can tell now
    if not listing_empty:
        return states.SUBMIT_FAILED
    return None
