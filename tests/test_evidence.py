"""The state machine of a tracked job: each edge, from what one sync saw to what the record becomes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pbt_tracker import states
from pbt_tracker.backends.slurm.evidence import AlikeChanges, Tracked, choose, clock_skew, next_state
from pbt_tracker.backends.slurm.listing import Listing
from pbt_tracker.backends.slurm.output import JobObservation

NOW = datetime(2026, 11, 29, 12, 0, 0)
MIN_JOB_AGE = timedelta(seconds=300)


def tracked(state: str = states.RUNNING, **changes: object) -> Tracked:
    values: dict[str, object] = dict(
        submission_id=1, job_id="70", state=state, intended_at=NOW - timedelta(hours=1), node="vm",
        started_at=NOW - timedelta(minutes=50), ended_at=None, exit_code=None, exit_signal=None,
        pending_reason=None, unseen_since=None, unseen_count=0, username="alice", cancel_requested_at=None,
        tag="pbt-track:ab:1",
    )
    values.update(changes)
    return Tracked(**values)  # type: ignore[arg-type]


def seen(state: str, **changes: object) -> JobObservation:
    values: dict[str, object] = dict(job_id="70", state=state, node="vm", started_at=NOW - timedelta(minutes=50),
                                     source="squeue")
    values.update(changes)
    return JobObservation(**values)  # type: ignore[arg-type]


def test_a_job_seen_in_its_state_changes_nothing() -> None:
    assert next_state(tracked(), seen(states.RUNNING), False, NOW, MIN_JOB_AGE) is None


def test_an_ended_job_takes_its_exit_code_and_signal_apart() -> None:
    change = next_state(tracked(), seen(states.FAILED, exit_code=0, exit_signal=9, ended_at=NOW, source="sacct"),
                        False, NOW, MIN_JOB_AGE)
    assert change is not None
    assert (change.state, change.values, change.detail) == (
        states.FAILED, {"ended_at": NOW, "exit_code": 0, "exit_signal": 9}, "sacct"
    )


def test_a_pending_job_keeps_why_it_waits_and_loses_it_when_it_runs() -> None:
    change = next_state(tracked(states.PENDING, node=None, started_at=None),
                        seen(states.PENDING, node=None, started_at=None, reason="JobHeldUser"), False, NOW, MIN_JOB_AGE)
    assert change is not None and change.values == {"pending_reason": "JobHeldUser"}
    running = next_state(tracked(states.PENDING, pending_reason="Priority"), seen(states.RUNNING), False, NOW,
                         MIN_JOB_AGE)
    assert running is not None and (running.state, running.values) == (states.RUNNING, {"pending_reason": None})


def test_an_answer_that_lists_no_job_at_all_changes_nothing() -> None:
    """squeue exits 0 with nothing after a controller restart: no evidence that any job ended."""
    assert next_state(tracked(), None, True, NOW, MIN_JOB_AGE) is None


def test_a_job_missing_from_a_listing_of_others_is_unknown_and_asked_again() -> None:
    change = next_state(tracked(), None, False, NOW, MIN_JOB_AGE)
    assert change is not None
    assert (change.state, change.values) == (states.UNKNOWN, {"unseen_since": NOW, "unseen_count": 1})
    assert states.UNKNOWN not in states.FINAL and states.UNKNOWN in states.MAY_BE_ACTIVE


def test_unknown_becomes_lost_only_after_min_job_age_and_two_syncs() -> None:
    first = NOW - timedelta(seconds=200)
    still = next_state(tracked(states.UNKNOWN, unseen_since=first, unseen_count=1), None, False, NOW, MIN_JOB_AGE)
    assert still is not None and still.state == states.UNKNOWN and still.values == {"unseen_count": 2}
    long_ago = NOW - timedelta(seconds=301)
    lost = next_state(tracked(states.UNKNOWN, unseen_since=long_ago, unseen_count=1), None, False, NOW, MIN_JOB_AGE)
    assert lost is not None and lost.state == states.LOST and lost.values == {"unseen_count": 2}
    assert lost.detail == ("not seen by Slurm in 2 syncs over 301 s (MinJobAge 300 s): sacct is still asked "
                           "about it at each sync")
    once = next_state(tracked(states.RUNNING, unseen_since=long_ago, unseen_count=0), None, False, NOW, MIN_JOB_AGE)
    assert once is not None and once.state == states.UNKNOWN  # one sync alone never gives a job up


def test_an_unknown_job_seen_again_takes_its_state_and_forgets_the_misses() -> None:
    change = next_state(tracked(states.UNKNOWN, unseen_since=NOW, unseen_count=1), seen(states.RUNNING), False, NOW,
                        MIN_JOB_AGE)
    assert change is not None
    assert (change.state, change.values) == (states.RUNNING, {"unseen_since": None, "unseen_count": 0})


def test_a_cancel_scancel_accepted_is_not_taken_for_its_end() -> None:
    """scancel's exit 0 marks the job; only Slurm showing it CANCELLED ends it, never its silence."""
    listed = next_state(tracked(cancel_requested_at=NOW), seen(states.RUNNING), False, NOW, MIN_JOB_AGE)
    assert listed is None  # still running: it stays RUNNING, marked "cancel requested"
    assert next_state(tracked(cancel_requested_at=NOW), None, True, NOW, MIN_JOB_AGE) is None  # an empty answer
    unseen = next_state(tracked(cancel_requested_at=NOW), None, False, NOW, MIN_JOB_AGE)
    assert unseen is not None and unseen.state == states.UNKNOWN  # missing, as any job: asked again
    ended = next_state(tracked(cancel_requested_at=NOW), seen(states.CANCELLED, source="sacct"), False, NOW,
                       MIN_JOB_AGE)
    assert ended is not None and (ended.state, ended.detail) == (states.CANCELLED, "sacct")


def test_an_array_task_cancelled_while_it_waited_is_cancelled_once_an_answer_lacks_it() -> None:
    """Slurm keeps no record of such a task (neither squeue nor sacct has it once scancel took it)."""
    task = tracked(states.PENDING, job_id="70_3", node=None, started_at=None, cancel_requested_at=NOW)
    assert next_state(task, None, True, NOW, MIN_JOB_AGE) is None  # an empty answer still proves nothing
    change = next_state(task, None, False, NOW, MIN_JOB_AGE)
    assert change is not None and change.state == states.CANCELLED
    running_task = task._replace(state=states.RUNNING)  # a started task is in sacct: its absence is no proof
    unseen = next_state(running_task, None, False, NOW, MIN_JOB_AGE)
    assert unseen is not None and unseen.state == states.UNKNOWN
    uncancelled = next_state(task._replace(cancel_requested_at=None), None, False, NOW, MIN_JOB_AGE)
    assert uncancelled is not None and uncancelled.state == states.UNKNOWN


def test_a_lost_job_stays_lost_on_silence_and_takes_the_state_a_later_answer_gives() -> None:
    lost = tracked(states.LOST, unseen_since=NOW - timedelta(hours=1), unseen_count=3)
    assert next_state(lost, None, False, NOW, MIN_JOB_AGE) is None
    assert next_state(lost, None, True, NOW, MIN_JOB_AGE) is None
    change = next_state(lost, seen(states.COMPLETED, exit_code=0, ended_at=NOW - timedelta(minutes=30),
                                   source="sacct"), False, NOW, MIN_JOB_AGE)
    assert change is not None
    assert (change.state, change.detail) == (states.COMPLETED, "sacct")
    assert change.values["unseen_since"] is None and change.values["unseen_count"] == 0


@pytest.mark.parametrize(
    ("submitted", "started", "ended", "state", "expected"),
    [
        (-3600, -3000, None, states.RUNNING, None),  # times this host's clock allows
        (-3600 + 59, -3000, -10, states.COMPLETED, None),  # within the margin of a minute
        (-3600 - 600, -3000 - 600, None, states.RUNNING, -600),  # submitted before pbt-track sent it
        (-3600 + 600, -3000 + 600, 590, states.COMPLETED, 590),  # ended in the future
        (-3600 + 600, 3600, None, states.PENDING, None),  # a waiting job's start is only a plan
        (-3600, -3000, 7200, states.RUNNING, None),  # a running job's end is its time limit
    ],
)
def test_scheduler_times_that_this_hosts_clock_cannot_allow_are_measured(
    submitted, started, ended, state, expected
) -> None:
    """The job was intended an hour before NOW; times are seconds from NOW, and the skew is a bound, never a guess."""
    def moment(seconds: int | None) -> datetime | None:
        return None if seconds is None else NOW + timedelta(seconds=seconds)

    observation = seen(state, submitted_at=moment(submitted), started_at=moment(started), ended_at=moment(ended))
    assert clock_skew(NOW - timedelta(hours=1), observation, NOW) == expected


def test_a_skew_once_measured_is_kept_with_the_times_it_marks() -> None:
    ahead = seen(states.COMPLETED, started_at=NOW + timedelta(minutes=5), ended_at=NOW + timedelta(minutes=9),
                 exit_code=0, source="sacct")
    change = next_state(tracked(), ahead, False, NOW, MIN_JOB_AGE)
    assert change is not None and change.values["clock_skew"] == 540
    later = NOW + timedelta(hours=1)  # by then the same times look possible: the mark stays
    again = next_state(tracked(clock_skew=540), ahead._replace(state=states.RUNNING), False, later, MIN_JOB_AGE)
    assert again is not None and "clock_skew" not in again.values


def test_squeue_decides_while_the_job_is_live_there_and_sacct_once_it_ended() -> None:
    live, accounted = seen(states.RUNNING), seen(states.COMPLETED, source="sacct")
    assert choose(live, accounted) is live
    assert choose(seen(states.COMPLETED), accounted) is accounted
    assert choose(None, accounted) is accounted
    requeued = seen(states.PENDING, source="sacct")
    assert choose(None, requeued) is requeued  # the newest run, when squeue has forgotten the job
    assert choose(None, None) is None


def test_sacct_saying_a_job_waits_or_runs_does_not_stand_against_squeue_answering_without_it() -> None:
    """The accounting database hears late, and of a waiting task cancelled out of its array never: sacct goes on
    showing it inside the array's waiting record. Its word that a job ended still counts."""
    waiting, ended = seen(states.PENDING, source="sacct"), seen(states.CANCELLED, source="sacct")
    assert choose(None, waiting, listed_without=True) is None
    assert choose(None, seen(states.RUNNING, source="sacct"), listed_without=True) is None
    assert choose(None, ended, listed_without=True) is ended
    assert choose(None, waiting, listed_without=False) is waiting  # squeue was not asked, or listed nothing


def test_a_listing_lacks_only_the_jobs_it_was_asked_about_and_only_when_it_listed_any() -> None:
    listed = {"71": seen(states.PENDING, job_id="71")}
    asked = Listing(listed, complete=False, listed_any=True, asked={"70", "71"})
    assert asked.lacks("70") and not asked.lacks("71")
    assert not asked.lacks("72")  # found later by its tag: squeue's answer says nothing of it
    assert not Listing({}, complete=False, listed_any=False, asked={"70"}).lacks("70")  # an empty answer proves nothing
    assert Listing(listed, complete=False).lacks("72")  # scontrol's fallback lists every job the controller has


@pytest.mark.parametrize("ended", [states.NODE_FAIL, states.BOOT_FAIL, states.PREEMPTED])
def test_a_job_slurm_may_requeue_changes_only_when_its_new_run_shows(ended: str) -> None:
    """Unseen, or seen ended again, it stays as recorded (never UNKNOWN or LOST); listed again, it is live."""
    item = tracked(ended, ended_at=NOW - timedelta(minutes=1), exit_code=0)

    unseen = next_state(item, None, False, NOW, MIN_JOB_AGE)
    assert unseen is not None and (unseen.state, unseen.values) == (ended, {"unseen_since": NOW, "unseen_count": 1})
    assert next_state(item, None, True, NOW, MIN_JOB_AGE) is None  # an empty answer says nothing about it
    assert next_state(item, seen(ended, ended_at=NOW, source="sacct"), False, NOW, MIN_JOB_AGE) is None
    change = next_state(item, seen(states.PENDING, node=None, started_at=None, reason="BeginTime"), False, NOW,
                        MIN_JOB_AGE)
    assert change is not None
    assert (change.state, change.values, change.detail) == (states.PENDING, {
        "node": None, "started_at": None, "ended_at": None, "exit_code": None, "exit_signal": None,
        "pending_reason": "BeginTime",
    }, "squeue")


def test_a_watched_end_counts_each_answer_that_lacks_it_from_the_first() -> None:
    """The store stops watching once the count and the span say Slurm has forgotten the job (states.MAY_BE_REQUEUED)."""
    item = tracked(states.NODE_FAIL, ended_at=NOW - timedelta(hours=5), unseen_since=NOW, unseen_count=1)

    later = next_state(item, None, False, NOW + timedelta(seconds=30), MIN_JOB_AGE)

    assert later is not None and (later.state, later.values) == (states.NODE_FAIL, {"unseen_count": 2})


def test_a_requeued_job_pending_again_shows_no_node_start_or_elapsed_of_its_earlier_run() -> None:
    change = next_state(tracked(), seen(states.PENDING, node=None, started_at=NOW + timedelta(minutes=5)), False,
                        NOW, MIN_JOB_AGE)

    assert change is not None and change.state == states.PENDING
    assert (change.values["node"], change.values["started_at"]) == (None, None)


def test_alike_submissions_share_one_change_and_an_array_task_keeps_its_own_rule() -> None:
    """The tasks of one array seen in one record differ only in their ids: their change is worked out once.

    Whether an id names an array task is part of what is alike: a task that scancel accepted while it waited
    and that no answer lists is CANCELLED, a single job in the same place UNKNOWN.
    """
    alike = AlikeChanges(listing_empty=False, now=NOW)
    waiting = {"node": None, "started_at": None, "cancel_requested_at": NOW - timedelta(seconds=5)}
    record = seen(states.CANCELLED, job_id="7_[0-2]", node=None, started_at=None, ended_at=NOW)
    first = alike.of(tracked(states.PENDING, submission_id=1, job_id="7_0", **waiting),
                     record._replace(job_id="7_0"), MIN_JOB_AGE)
    second = alike.of(tracked(states.PENDING, submission_id=2, job_id="7_1", **waiting),
                      record._replace(job_id="7_1"), MIN_JOB_AGE)
    unlisted_task = alike.of(tracked(states.PENDING, submission_id=3, job_id="7_2", **waiting), None, MIN_JOB_AGE)
    unlisted_job = alike.of(tracked(states.PENDING, submission_id=4, job_id="8", **waiting), None, MIN_JOB_AGE)

    assert first is second
    assert first == next_state(tracked(states.PENDING, job_id="7_0", **waiting), record._replace(job_id="7_0"),
                               False, NOW, MIN_JOB_AGE)
    assert first is not None and first.state == states.CANCELLED
    assert unlisted_task is not None and unlisted_task.state == states.CANCELLED
    assert unlisted_job is not None and unlisted_job.state == states.UNKNOWN
