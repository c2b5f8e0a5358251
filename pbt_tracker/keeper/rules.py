"""What the keeper does about one experiment, decided from its attempts on record alone.

The rules are pure: attempts and times in, a decision out. Only final states
lead to a resubmission; UNKNOWN (no scheduler answered) is never final, so an
empty or failed answer from Slurm can never resubmit a job that still runs.

A crash loop is told from a long run cut short: an attempt that ends in a
crash state (FAILED, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, SUBMIT_FAILED)
within QUICK_SECONDS of its start is a quick failure. TIMEOUT and PREEMPTED
are stops from outside, not crashes, and like any longer run they end a
streak. The first quick failure in a row is resumed at once, the second after
BACKOFF_SECONDS, and the third is a crash loop: reported, not resumed.

A job stopped by GNU `timeout` in a template that hands it $TIMEOUT (the
shipped timeout_* templates) ends FAILED with exit code 124: that is its time
limit, a stop from outside like TIMEOUT, and never a crash, however short the
limit. A resumed attempt that fails within RESUME_START_SECONDS of its start
says its environment or its continuation is broken: it is an event of its
own, resumed again (it counts toward a crash loop) even without --resume-failed,
so a population never ends "final" on a resume that never ran.

NODE_FAIL, BOOT_FAIL and PREEMPTED are ends that Slurm may undo by requeueing
the job itself; on such a backend the keeper waits REQUEUE_SETTLE_SECONDS
after the end, so that the sync before its next decision sees the requeued
run, and a policy is never sent a second time while Slurm runs it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pbt_tracker import states
from pbt_tracker.pbt.stall import Stall

RESUME = "resume"
WAIT = "wait"
GIVE_UP = "give-up"
CRASH_LOOP = "crash-loop"
RESUME_FAILED_AT_START = "resume-failed-at-start"
STALLED = "stalled"
RESTART_STALLED = "restart-stalled"
SCHEDULER_UNAVAILABLE = "scheduler-unavailable"
FINISHED = "finished"
EVENT_FAILED = "event-failed"
DECISION_UNDONE = "decision-undone"  # a continuation did not carry a replacement or mutation of the PBT algorithm
STARTED_OVER = "started-over"  # a PBT policy began again below the iteration it had reached

ALWAYS_RESUMED = frozenset({states.TIMEOUT, states.NODE_FAIL, states.PREEMPTED, states.BOOT_FAIL, states.SUBMIT_FAILED})
RESUMED_WITH_FAILED = frozenset({states.FAILED, states.OUT_OF_MEMORY})
STOPPED_FROM_OUTSIDE = frozenset({states.TIMEOUT, states.PREEMPTED, states.CANCELLED})

QUICK_SECONDS = 300.0
RESUME_START_SECONDS = 60.0
TIME_LIMIT_EXIT = 124  # GNU timeout's exit code when it stopped the command
BACKOFF_SECONDS = 120.0
CRASH_LOOP_AFTER = 3
REQUEUE_SETTLE_SECONDS = 60.0
RESUBMIT_TRIES = 3
"""A resubmission that raises (a script changed on disk, say) is tried this many times, then given up."""


@dataclass(frozen=True)
class Attempt:
    """One submission of an experiment; times in seconds since the epoch, None when not on record."""

    submission_id: int
    attempt: int
    state: str
    submitted_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    timeout_ends_it: bool = False  # its template runs the command under GNU `timeout $TIMEOUT`
    last_log_line: str | None = None

    @property
    def time_limited(self) -> bool:
        """Stopped by `timeout` at its limit: FAILED with 124 under a template that uses `timeout`."""
        return self.timeout_ends_it and self.state == states.FAILED and self.exit_code == TIME_LIMIT_EXIT

    @property
    def ended_as(self) -> str:
        """The state the rules judge it by: a `timeout` stop is a time limit, TIMEOUT."""
        return states.TIMEOUT if self.time_limited else self.state

    @property
    def ran_for(self) -> float | None:
        began = self.started_at or self.submitted_at
        return self.ended_at - began if self.ended_at is not None and began is not None else None


@dataclass(frozen=True)
class Rules:
    max_attempts: int | None = None
    resume_failed: bool = False
    stall_after: float | None = None
    restart_stalled: bool = False


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def acts(self) -> bool:
        return self.action in (RESUME, RESUME_FAILED_AT_START, RESTART_STALLED)

    @property
    def resumes(self) -> bool:
        return self.action in (RESUME, RESUME_FAILED_AT_START)

    @property
    def ends_experiment(self) -> bool:
        return self.action in (GIVE_UP, CRASH_LOOP)


def quick_failures(attempts: Sequence[Attempt]) -> int:
    """How many attempts in a row, counting back from the latest, crashed within QUICK_SECONDS of their start."""
    count = 0
    for attempt in reversed(attempts):
        state = attempt.ended_as
        if state in STOPPED_FROM_OUTSIDE or state not in ALWAYS_RESUMED | RESUMED_WITH_FAILED:
            break
        ran_for = attempt.ran_for
        if ran_for is not None and ran_for >= QUICK_SECONDS:
            break
        count += 1
    return count


def failed_at_start(attempt: Attempt) -> bool:
    """A resumed attempt that crashed within RESUME_START_SECONDS of its start."""
    ran_for = attempt.ran_for
    return (attempt.attempt > 1 and attempt.ended_as in RESUMED_WITH_FAILED and ran_for is not None
            and ran_for < RESUME_START_SECONDS)


def decide_ended(
    attempts: Sequence[Attempt], rules: Rules, now: float, cancelled_by_keeper: bool = False, failed_tries: int = 0,
    may_requeue: bool = False,
) -> Decision | None:
    """The decision about an experiment whose latest attempt is final; None when it is simply done."""
    latest = attempts[-1]
    ended_as = latest.ended_as
    at_start = failed_at_start(latest)
    wanted = ALWAYS_RESUMED | (RESUMED_WITH_FAILED if rules.resume_failed or at_start else frozenset())
    if ended_as == states.CANCELLED and not cancelled_by_keeper:
        return None
    if ended_as != states.CANCELLED and ended_as not in wanted:
        return None
    what = f"attempt {latest.attempt} ended {latest.state}"
    if latest.time_limited:
        what += f" {TIME_LIMIT_EXIT} (its time limit, under `timeout`)"
    if may_requeue and latest.state in states.MAY_BE_REQUEUED:
        resume_at = (latest.ended_at or latest.started_at or latest.submitted_at or now) + REQUEUE_SETTLE_SECONDS
        if now < resume_at:
            return Decision(WAIT, f"{what}, which Slurm may requeue by itself; resumed after "
                                  f"{REQUEUE_SETTLE_SECONDS:g} s unless it does", {"resume_at": resume_at})
    if rules.max_attempts is not None and latest.attempt >= rules.max_attempts:
        return Decision(GIVE_UP, f"{what}; it was the last of --max-attempts {rules.max_attempts}")
    if failed_tries >= RESUBMIT_TRIES:
        return Decision(GIVE_UP, f"{what}; resubmitting it failed {failed_tries} times")
    quick = quick_failures(attempts)
    if quick >= CRASH_LOOP_AFTER:
        return Decision(CRASH_LOOP, f"{what}; the last {quick} attempts each failed within "
                                    f"{QUICK_SECONDS:g} s of their start, so it is not resumed again")
    if quick >= 2:
        since = latest.ended_at or latest.started_at or latest.submitted_at or now
        resume_at = since + BACKOFF_SECONDS
        if now < resume_at:
            return Decision(WAIT, f"{what} within {QUICK_SECONDS:g} s of its start, the second time in a row; "
                                  f"resumed after {BACKOFF_SECONDS:g} s", {"resume_at": resume_at})
    if latest.state == states.CANCELLED:
        what += " (cancelled by the keeper as stalled)"
    if at_start:
        line = f"; its log ends: {latest.last_log_line}" if latest.last_log_line else ""
        return Decision(RESUME_FAILED_AT_START, f"resume failed at start: {what} {latest.ran_for:.0f} s after its "
                                                f"start{line}; resumed as attempt {latest.attempt + 1}")
    return Decision(RESUME, f"{what}; resumed as attempt {latest.attempt + 1}")


def decide_running(latest: Attempt, stall: Stall, rules: Rules) -> Decision | None:
    """A running PBT policy that writes no iterations is reported, and restarted when asked."""
    if latest.state != states.RUNNING or not stall.stalled:
        return None
    silent = f"no new iteration for {stall.silent_for:.0f} s (limit {stall.limit:.0f} s)"
    if rules.restart_stalled:
        return Decision(RESTART_STALLED, f"attempt {latest.attempt} is RUNNING but {silent}; cancelled to be resumed")
    return Decision(STALLED, f"attempt {latest.attempt} is RUNNING but {silent}")


def is_done(latest: Attempt, decision: Decision | None) -> bool:
    """Final, and nothing more to do about it: the keeper need not watch it any longer."""
    if latest.state not in states.FINAL:
        return False
    return decision is None or decision.ends_experiment


def stall_since_start(history: Sequence[tuple[int, float]], started_at: float | None, now: float,
                      stall_after: float | None) -> Stall | None:
    """A policy that has written no iteration since its attempt started, judged against an explicit limit."""
    if history or started_at is None or stall_after is None:
        return None
    silent = now - started_at
    return Stall(silent > stall_after, silent, stall_after)
