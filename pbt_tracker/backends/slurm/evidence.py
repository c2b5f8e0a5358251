"""The state machine of a tracked Slurm job: which observation moves which state where.

Pure functions over what one sync saw; the sync applies what they return.
The rules, which docs/guarantees.md repeats:

- A state changes on evidence only. squeue or sacct naming the job (by its
  id, and by its tag where Slurm shows it; never by its times, which come from
  the controller's clock) is evidence; its newest run decides (a requeued
  job's older runs are history).
- An answer that lists no job at all (squeue exiting 0 with nothing, as after
  a controller restart) is not evidence that any job ended: states stay.
- A job missing from an answer that lists other jobs, and from sacct, becomes
  UNKNOWN, which is not final: the next sync asks again and the job stays in
  `cancel` and scancel.sh. It becomes LOST (final) only when it has been
  missing for more than the cluster's MinJobAge, over at least two syncs.
  LOST is final for cancel and scancel.sh, but not against a later answer:
  sacct is still asked about a LOST job, and its answer is recorded.
- squeue speaks for the controller, sacct for an accounting database that
  hears of changes late: sacct saying a job waits or runs is no evidence
  against squeue answering without it.
- CANCELLED is Slurm's own state, shown by squeue or sacct. scancel's exit 0
  only marks the job "cancel requested": a job still listed running stays
  RUNNING. The one exception is an array task cancelled while it waited, of
  which Slurm keeps no record at all: once scancel accepted it and an answer
  that lists other jobs lacks it (and sacct too), it is CANCELLED.
- Times are the scheduler's. Where they cannot be right by this host's clock
  (a start or an end in the future, a submission before pbt-track sent it),
  by more than a minute, the job's `clock_skew` records by how much at least.
- A job that ended NODE_FAIL, BOOT_FAIL or PREEMPTED keeps that state unless a
  newer, live run of it is listed (Slurm requeued it). Answers that list other
  jobs but not it are counted; once two of them some time apart have lacked
  it, Slurm has forgotten it and sync stops asking.
- An sbatch whose answer was lost (SUBMITTING after its submitter died, or
  SUBMIT_UNCERTAIN) is SUBMITTED when squeue or sacct lists a job carrying
  its tag (in the comment, or its mark at the end of the job name). It is
  SUBMIT_FAILED only when sacct, asked for the user's jobs since the launch
  began, lists jobs of this record (so it answers for that user and time) and
  none carrying the tag, either beside squeue listing other jobs without it or
  once accounting has had time to hear of it. squeue's silence, however
  often, proves nothing, and without sacct the submission stays SUBMIT_UNCERTAIN.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pbt_tracker import states
from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.tags import carries

# Two answers closer together than this may be one passing fault.
CONFIRM_GAP = timedelta(seconds=states.CONFIRM_GAP_SECONDS)
# Times the scheduler gives may disagree with this host's clock by this much before a report marks them.
SKEW_MARGIN = timedelta(minutes=1)


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
    clock_skew: int | None = None
    partition: str | None = None
    time_limit: str | None = None


class Change(NamedTuple):
    state: str
    values: dict[str, object]
    detail: str


def choose(live: JobObservation | None, accounted: JobObservation | None,
           listed_without: bool = False) -> JobObservation | None:
    """squeue's word while the job is live there; otherwise sacct's newest run, where it has one.

    The accounting database hears of the controller's changes late, and of
    some never: a waiting task cancelled out of its array stays inside the
    array's waiting record there. So sacct's word that a job still waits or
    runs does not stand against squeue answering without the job
    (`listed_without`): the job is then unseen, not live.
    """
    if live is not None and live.state not in states.FINAL:
        return live
    if live is None and listed_without and accounted is not None and accounted.state not in states.FINAL:
        return None
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
        change = _seen(item._replace(**earlier_run), observation, now)  # the new run owes the old one nothing
        assert change is not None  # its state is live, the record's final
        return Change(change.state, {**earlier_run, **change.values}, change.detail)
    if observation is not None:
        return _seen(item, observation, now)
    if item.state == states.LOST or listing_empty:
        return None  # no evidence either way
    if item.cancel_requested_at is not None and "_" in item.job_id and item.state in _UNSTARTED:
        return _change(item, states.CANCELLED, {"unseen_since": None, "unseen_count": 0},
                       "scancel accepted this array task while it waited; Slurm keeps no record of such a task, "
                       "and its answers no longer list it")
    since = item.unseen_since or now
    count = item.unseen_count + 1
    unseen = {"unseen_since": since, "unseen_count": count}
    if count >= states.MIN_UNSEEN_SYNCS and now - since > min_job_age:
        return _change(item, states.LOST, unseen,
                       f"not seen by Slurm in {count} syncs over {int((now - since).total_seconds())} s "
                       f"(MinJobAge {int(min_job_age.total_seconds())} s): sacct is still asked about it at each sync")
    return _change(item, states.UNKNOWN, unseen, "Slurm did not list this job; asked again at the next sync")


class AlikeChanges:
    """`next_state`, worked out once for submissions that differ only in their ids.

    The tasks of an array that never started are alike on record and are
    seen in one record of the array: a cancel of thousands of them is one
    change, shared by all (and written by one statement, see
    `store.writes.change_states`). `next_state` reads of an id only whether
    it names an array task: only tasks are looked up, by the rest.
    """

    def __init__(self, listing_empty: bool, now: datetime) -> None:
        self.listing_empty = listing_empty
        self.now = now
        self.known: dict[tuple[Any, ...], Change | None] = {}

    def of(self, item: Tracked, observation: JobObservation | None, min_job_age: timedelta) -> Change | None:
        if "_" not in item.job_id:  # a single job has its own line: its key would cost more than it saves
            return next_state(item, observation, self.listing_empty, self.now, min_job_age)
        key = (item[2:], None if observation is None else observation[1:], min_job_age)
        try:
            return self.known[key]
        except KeyError:
            change = self.known[key] = next_state(item, observation, self.listing_empty, self.now, min_job_age)
            return change


# States on record of a job that never started, as far as the record knows.
_UNSTARTED = states.WAITING | {states.SUBMITTED}


def _seen(item: Tracked, observation: JobObservation, now: datetime) -> Change | None:
    state = observation.state or states.UNKNOWN
    values: dict[str, object] = {
        "node": observation.node or item.node,
        "started_at": observation.started_at or item.started_at,
        "ended_at": item.ended_at,
        "exit_code": item.exit_code,
        "exit_signal": item.exit_signal,
        "pending_reason": observation.reason if state in states.WAITING else None,
        "partition": observation.partition or item.partition,
        "time_limit": observation.time_limit or item.time_limit,
        "unseen_since": None,
        "unseen_count": 0,
        "clock_skew": clock_skew(item.intended_at, observation, now) or item.clock_skew,
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
_RUN_COLUMNS = frozenset({
    "node", "started_at", "ended_at", "exit_code", "exit_signal", "pending_reason", "unseen_since", "unseen_count",
    "clock_skew", "partition", "time_limit",
})


def clock_skew(intended_at: datetime, observation: JobObservation, now: datetime) -> int | None:
    """Seconds by which, at least, the scheduler's clock is ahead (positive) or behind this host's; None if unseen.

    Only what cannot be right by this host's clock counts, past SKEW_MARGIN:
    a start or an end later than now, or a submission or start earlier than
    pbt-track's intent to submit (written before sbatch ran). A start shown
    for a waiting job, and an end shown for a live one, are the scheduler's
    plans, not times that happened.
    """
    started = observation.started_at if observation.state not in states.WAITING else None
    ended = observation.ended_at if observation.state in states.FINAL else None
    happened = [moment for moment in (observation.submitted_at, started, ended) if moment is not None]
    if not happened:
        return None
    ahead = max(happened) - now
    if ahead > SKEW_MARGIN:
        return int(ahead.total_seconds())
    behind = min(happened) - intended_at
    if behind < -SKEW_MARGIN:
        return int(behind.total_seconds())
    return None


def _change(item: Tracked, state: str, values: dict[str, object], detail: str) -> Change | None:
    assert values.keys() <= _RUN_COLUMNS, values
    changed = {key: value for key, value in values.items() if getattr(item, key) != value}
    if state == item.state and not changed:
        return None  # nothing new: no write, so a sync of a quiet queue costs one read
    return Change(state, changed, detail)


def uncertain_outcome(found: bool, accounted_without: bool, listed_without: bool, intended_at: datetime,
                      now: datetime) -> str | None:
    """For a submission whose sbatch answer was lost: SUBMITTED, SUBMIT_FAILED, or None (no proof either way).

    `accounted_without` is sacct's answer (`answers_for`) lacking the job's
    tag; `listed_without`, squeue's listing of other jobs lacking it. sacct
    hears of a new job from the controller a moment after it is queued, so
    within CONFIRM_GAP of the intent its answer proves the job absent only
    beside the controller's own listing. squeue alone proves nothing: a
    controller that lost its state, a wrapper that answers nothing or drops
    lines, looks the same, and a second copy of a running policy is the price
    of believing it.
    """
    if found:
        return states.SUBMITTED
    if accounted_without and (listed_without or now - intended_at >= CONFIRM_GAP):
        return states.SUBMIT_FAILED
    return None


def answers_for(accounted: dict[str, list[JobObservation]], recorded: set[str]) -> bool:
    """Whether a sacct answer lists a job this record holds: only then is a job it lacks known not to exist.

    An answer listing none (empty, or someone else's jobs) may come from an
    accounting that has not heard of them, which is no proof of anything.
    """
    bases = {job_id.split("_", 1)[0] for job_id in recorded}
    return any(job_id in recorded or job_id.split("_", 1)[0] in bases for job_id in accounted)


def accounted_with(accounted: dict[str, list[JobObservation]], tag: str) -> list[str]:
    """The job ids in a sacct answer that carry `tag`, in its comment or as the mark of its name."""
    return sorted((job_id for job_id, rows in accounted.items()
                   if any(carries(tag, row.comment, row.name) for row in rows)), key=_id_order)


def _id_order(job_id: str) -> tuple[int, str]:
    head = job_id.split("_", 1)[0]
    return (int(head) if head.isdigit() else 0, job_id)
