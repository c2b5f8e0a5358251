"""The keeper's decisions, from literal attempts: only final states resume, crash loops stop, stalls are told."""

from pbt_tracker.keeper.rules import (
    BACKOFF_SECONDS,
    CRASH_LOOP,
    GIVE_UP,
    REQUEUE_SETTLE_SECONDS,
    RESTART_STALLED,
    RESUME,
    RESUME_FAILED_AT_START,
    STALLED,
    WAIT,
    Attempt,
    Decision,
    Rules,
    decide_ended,
    decide_running,
    is_done,
    quick_failures,
    stall_since_start,
)
from pbt_tracker.pbt.stall import Stall

HOUR = 3600.0


def ran(attempt: int, state: str, started: float, seconds: float) -> Attempt:
    return Attempt(attempt, attempt, state, started - 10, started, started + seconds)


def test_a_time_limit_is_resumed_and_a_failure_only_with_resume_failed():
    timeout = [ran(1, "TIMEOUT", 0, 24 * HOUR)]
    failed = [ran(1, "FAILED", 0, 2 * HOUR)]

    assert decide_ended(timeout, Rules(), now=25 * HOUR) == Decision(
        RESUME, "attempt 1 ended TIMEOUT; resumed as attempt 2")
    assert decide_ended(failed, Rules(), now=3 * HOUR) is None
    assert decide_ended(failed, Rules(resume_failed=True), now=3 * HOUR).action == RESUME


def test_completed_and_user_cancelled_are_done_but_a_keeper_cancel_is_resumed():
    assert decide_ended([ran(1, "COMPLETED", 0, HOUR)], Rules(), now=2 * HOUR) is None
    cancelled = [ran(1, "CANCELLED", 0, HOUR)]
    assert decide_ended(cancelled, Rules(), now=2 * HOUR) is None
    assert decide_ended(cancelled, Rules(), now=2 * HOUR, cancelled_by_keeper=True) == Decision(
        RESUME, "attempt 1 ended CANCELLED (cancelled by the keeper as stalled); resumed as attempt 2")


def test_max_attempts_gives_up():
    attempts = [ran(1, "TIMEOUT", 0, HOUR), ran(2, "PREEMPTED", 2 * HOUR, HOUR)]

    decision = decide_ended(attempts, Rules(max_attempts=2), now=4 * HOUR)

    assert decision == Decision(GIVE_UP, "attempt 2 ended PREEMPTED; it was the last of --max-attempts 2")
    assert is_done(attempts[-1], decision)


def test_quick_crashes_are_resumed_at_once_then_after_a_back_off_then_not_at_all():
    one = [ran(1, "NODE_FAIL", 0, 30)]
    two = one + [ran(2, "BOOT_FAIL", 100, 20)]
    three = two + [ran(3, "NODE_FAIL", 400, 10)]

    assert decide_ended(one, Rules(), now=40).action == RESUME
    wait = decide_ended(two, Rules(), now=121)
    assert wait.action == WAIT and wait.detail == {"resume_at": 120 + BACKOFF_SECONDS}
    assert not is_done(two[-1], wait)
    assert decide_ended(two, Rules(), now=120 + BACKOFF_SECONDS).action == RESUME
    loop = decide_ended(three, Rules(), now=1000)
    assert loop == Decision(CRASH_LOOP, "attempt 3 ended NODE_FAIL; the last 3 attempts each failed within 300 s "
                                        "of their start, so it is not resumed again")
    assert is_done(three[-1], loop)


def test_a_long_run_or_a_time_limit_ends_a_streak_of_quick_failures():
    assert quick_failures([ran(1, "FAILED", 0, 5), ran(2, "FAILED", 10, 5)]) == 2
    assert quick_failures([ran(1, "FAILED", 0, 5), ran(2, "FAILED", 10, HOUR), ran(3, "FAILED", 2 * HOUR, 5)]) == 1
    assert quick_failures([ran(1, "FAILED", 0, 5), ran(2, "TIMEOUT", 10, 5), ran(3, "FAILED", 20, 5)]) == 1
    assert quick_failures([ran(1, "TIMEOUT", 0, 5), ran(2, "TIMEOUT", 10, 5)]) == 0
    never_started = Attempt(1, 1, "SUBMIT_FAILED", 0.0)
    assert quick_failures([never_started, never_started, never_started]) == 3


def test_resubmissions_that_keep_failing_are_given_up():
    decision = decide_ended([ran(1, "TIMEOUT", 0, HOUR)], Rules(), now=2 * HOUR, failed_tries=3)

    assert decision == Decision(GIVE_UP, "attempt 1 ended TIMEOUT; resubmitting it failed 3 times")


def test_states_that_are_not_final_decide_nothing():
    for state in ("UNKNOWN", "PENDING", "SUBMITTING", "COMPLETING"):
        latest = Attempt(1, 1, state, 0.0)
        assert decide_ended([latest], Rules(resume_failed=True), now=HOUR) is None
        assert not is_done(latest, None)


def test_a_stalled_running_policy_is_reported_or_restarted():
    running = Attempt(7, 2, "RUNNING", 0.0, 10.0)
    stall = Stall(True, 900.0, 600.0)

    assert decide_running(running, stall, Rules()) == Decision(
        STALLED, "attempt 2 is RUNNING but no new iteration for 900 s (limit 600 s)")
    assert decide_running(running, stall, Rules(restart_stalled=True)).action == RESTART_STALLED
    assert decide_running(running, Stall(False, 100.0, 600.0), Rules(restart_stalled=True)) is None


def test_a_policy_silent_since_its_start_is_stalled_only_against_an_explicit_limit():
    assert stall_since_start([], started_at=100.0, now=200.0, stall_after=60.0) == Stall(True, 100.0, 60.0)
    assert stall_since_start([], started_at=100.0, now=150.0, stall_after=60.0) == Stall(False, 50.0, 60.0)
    assert stall_since_start([], started_at=100.0, now=1e9, stall_after=None) is None
    assert stall_since_start([(1, 120.0)], started_at=100.0, now=1e9, stall_after=60.0) is None


def test_an_end_slurm_may_requeue_waits_for_the_requeue_before_it_is_resumed():
    """NODE_FAIL, BOOT_FAIL and PREEMPTED on a backend whose scheduler requeues: the same job may come back."""
    node_fail = [ran(1, "NODE_FAIL", 0, HOUR)]

    wait = decide_ended(node_fail, Rules(), now=HOUR + 10, may_requeue=True)

    assert wait == Decision(WAIT, "attempt 1 ended NODE_FAIL, which Slurm may requeue by itself; resumed after "
                                  f"{REQUEUE_SETTLE_SECONDS:g} s unless it does",
                            {"resume_at": HOUR + REQUEUE_SETTLE_SECONDS})
    assert not is_done(node_fail[-1], wait)
    assert decide_ended(node_fail, Rules(), now=HOUR + REQUEUE_SETTLE_SECONDS, may_requeue=True).action == RESUME
    assert decide_ended(node_fail, Rules(), now=HOUR + 10).action == RESUME  # local processes: nobody requeues
    assert decide_ended([ran(1, "TIMEOUT", 0, HOUR)], Rules(), now=HOUR + 10, may_requeue=True).action == RESUME


def timed_out(attempt: int, started: float, seconds: float, template_uses_timeout: bool = True) -> Attempt:
    """A job GNU `timeout` stopped at its limit: Slurm records it FAILED with exit code 124."""
    return Attempt(attempt, attempt, "FAILED", started - 10, started, started + seconds, 124, template_uses_timeout)


def test_a_timeout_stop_under_a_timeout_template_is_a_time_limit_however_short_never_a_crash():
    short_limits = [timed_out(1, 0, 60), timed_out(2, 100, 60), timed_out(3, 200, 60)]

    assert quick_failures(short_limits) == 0
    assert decide_ended(short_limits, Rules(), now=300) == Decision(
        RESUME, "attempt 3 ended FAILED 124 (its time limit, under `timeout`); resumed as attempt 4")


def test_exit_124_is_a_crash_like_any_other_where_the_template_does_not_use_timeout():
    crashes = [timed_out(1, 0, 60, False), timed_out(2, 100, 60, False), timed_out(3, 200, 60, False)]

    assert quick_failures(crashes) == 3
    assert decide_ended(crashes, Rules(resume_failed=True), now=300).action == CRASH_LOOP


def test_a_resumed_attempt_that_fails_within_a_minute_is_resumed_even_without_resume_failed_and_says_so():
    attempts = [ran(1, "TIMEOUT", 0, HOUR), Attempt(2, 2, "FAILED", HOUR, HOUR + 5, HOUR + 17, 1, False,
                                                    "ModuleNotFoundError: No module named 'isaacgym'")]

    assert decide_ended(attempts, Rules(), now=HOUR + 20) == Decision(
        RESUME_FAILED_AT_START,
        "resume failed at start: attempt 2 ended FAILED 12 s after its start; its log ends: ModuleNotFoundError: "
        "No module named 'isaacgym'; resumed as attempt 3")


def test_resumes_that_keep_failing_at_start_become_a_crash_loop():
    broken = [ran(1, "TIMEOUT", 0, HOUR)] + [ran(n, "FAILED", HOUR * n, 3) for n in (2, 3, 4)]

    assert decide_ended(broken, Rules(), now=5 * HOUR).action == CRASH_LOOP


def test_a_first_attempt_or_a_long_resumed_one_that_fails_waits_for_resume_failed():
    assert decide_ended([ran(1, "FAILED", 0, 3)], Rules(), now=10) is None
    assert decide_ended([ran(1, "TIMEOUT", 0, HOUR), ran(2, "FAILED", 2 * HOUR, 61)], Rules(), now=3 * HOUR) is None
