"""The continuity benchmark's witnesses read as they should: each figure can be nonzero, on literal text."""

from datetime import datetime

from benchmarks.continuity_figures import (
    PolicyTime,
    lives,
    newest_states,
    overlapping_lives,
    overlapping_runs,
    parse_journal,
    parse_sacct_runs,
    policy_time,
    record_mismatches,
    redone_iterations,
    restarts_from_zero,
)

# Policy 0: first life (pid 10) to iteration 2, killed; continued by pid 11 from 2. Policy 1: its first life
# (pid 20) runs on while a second copy (pid 21) starts over from 0 and redoes iterations 1 and 2.
JOURNAL = """\
100.0 10 0 start 0
100.5 20 1 start 0
102.0 10 0 iteration 1
102.5 20 1 iteration 1
104.0 10 0 iteration 2
104.5 20 1 iteration 2
105.0 21 1 start 0
106.0 11 0 start 2
106.5 20 1 iteration 3
107.0 21 1 iteration 1
108.0 11 0 iteration 3
109.0 21 1 iteration 2
"""

WORKDIR = "/tmp/bench-1"
SACCT = """\
101|TIMEOUT|2026-12-07T10:00:00|2026-12-07T10:00:01|2026-12-07T10:01:02|/tmp/bench-1
102|REQUEUED|2026-12-07T10:00:00|2026-12-07T10:00:01|2026-12-07T10:00:20|/tmp/bench-1
102|COMPLETED|2026-12-07T10:00:20|2026-12-07T10:00:35|2026-12-07T10:02:00|/tmp/bench-1
103|COMPLETED|2026-12-07T10:01:04|2026-12-07T10:01:06|2026-12-07T10:02:30|/tmp/bench-1
104|CANCELLED by 1000|2026-12-07T10:00:00|Unknown|2026-12-07T10:00:05|/tmp/bench-1
999|RUNNING|2026-12-07T10:00:00|2026-12-07T10:00:01|Unknown|/tmp/elsewhere
"""


def test_a_second_start_at_iteration_zero_is_a_policy_started_over():
    assert restarts_from_zero(parse_journal(JOURNAL)) == {1: 1}


def test_an_iteration_done_twice_is_redone_and_a_continuation_from_its_checkpoint_redoes_none():
    assert redone_iterations(parse_journal(JOURNAL)) == {1: [1, 2]}


def test_two_processes_of_one_policy_writing_at_once_overlap_and_a_continuation_after_its_predecessor_does_not():
    pairs = overlapping_lives(lives(parse_journal(JOURNAL)))
    assert [(earlier.pid, later.pid) for earlier, later in pairs] == [(20, 21)]


def test_an_exec_in_the_same_process_starts_a_new_life_that_does_not_overlap_its_predecessor():
    journal = parse_journal("1.0 7 0 start 0\n2.0 7 0 iteration 1\n3.0 7 0 start 1\n4.0 7 0 iteration 2\n")
    assert [(life.start_iteration, life.started, life.last_seen) for life in lives(journal)] == [
        (0, 1.0, 2.0), (1, 3.0, 4.0)]
    assert overlapping_lives(lives(journal)) == []


def test_sacct_rows_of_other_workdirs_are_left_out_and_states_lose_their_by_clause():
    runs = parse_sacct_runs(SACCT, WORKDIR + "/")
    assert [(run.job_id, run.state) for run in runs] == [
        ("101", "TIMEOUT"), ("102", "REQUEUED"), ("102", "COMPLETED"), ("103", "COMPLETED"), ("104", "CANCELLED")]
    assert runs[-1].start is None


def test_the_newest_run_of_a_requeued_job_is_its_state():
    assert newest_states(parse_sacct_runs(SACCT, WORKDIR)) == {
        "101": "TIMEOUT", "102": "COMPLETED", "103": "COMPLETED", "104": "CANCELLED"}


def test_runs_of_one_policy_overlap_when_one_starts_before_the_other_ends():
    runs = {run.job_id: run for run in parse_sacct_runs(SACCT, WORKDIR)}
    assert overlapping_runs({0: [runs["101"], runs["103"]]}) == []
    assert [(a.job_id, b.job_id) for a, b in overlapping_runs({0: [runs["101"], runs["102"]]})] == [("101", "102")]


def test_record_and_sacct_disagreeing_or_knowing_different_jobs_are_each_a_line():
    assert record_mismatches({"101": "TIMEOUT", "102": "RUNNING", "105": "PENDING"},
                             {"101": "TIMEOUT", "102": "COMPLETED", "104": "CANCELLED"}) == [
        "job 102: record RUNNING, sacct COMPLETED",
        "job 104: record has no such job, sacct CANCELLED",
        "job 105: record PENDING, sacct has no such job",
    ]


def test_a_policys_wall_time_less_its_queue_waits_and_slurms_requeue_delay_apart():
    runs = [run for run in parse_sacct_runs(SACCT, WORKDIR) if run.job_id in ("101", "103")]
    assert policy_time(runs) == PolicyTime(wall=149.0, queue_waits=2.0, requeue_waits=0.0)
    requeued = [run for run in parse_sacct_runs(SACCT, WORKDIR) if run.job_id == "102"]
    timed = policy_time(requeued)
    assert timed == PolicyTime(wall=119.0, queue_waits=15.0, requeue_waits=15.0)
    assert timed.working == 104.0
    assert datetime.fromisoformat("2026-12-07T10:00:20") == requeued[0].end


def test_a_requeued_run_that_sacct_lists_without_a_start_still_makes_the_next_wait_slurms_requeue_delay():
    run_with_start = "102|REQUEUED|2026-12-07T10:00:00|2026-12-07T10:00:01|"
    text = SACCT.replace(run_with_start, "102|REQUEUED|2026-12-07T10:00:00|Unknown|")
    runs = [run for run in parse_sacct_runs(text, WORKDIR) if run.job_id in ("101", "102")]
    timed = policy_time(runs)
    assert (timed.queue_waits, timed.requeue_waits) == (15.0, 15.0)


def test_a_requeued_run_whose_start_sacct_lost_waited_until_it_was_eligible_and_ran_from_then():
    """Seen on the test cluster: the requeued job's next run listed TIMEOUT with no Start, eligible 121 s after."""
    text = ("300|REQUEUED|2026-12-07T19:28:43|2026-12-07T19:28:44|2026-12-07T19:29:05|2026-12-07T19:28:43|/w\n"
            "300|TIMEOUT|2026-12-07T19:29:05|None|2026-12-07T19:32:26|2026-12-07T19:31:06|/w\n"
            "301|COMPLETED|2026-12-07T19:32:27|2026-12-07T19:32:28|2026-12-07T19:33:02|2026-12-07T19:32:27|/w\n")
    timed = policy_time(parse_sacct_runs(text, "/w"))
    assert timed == PolicyTime(wall=258.0, queue_waits=122.0, requeue_waits=121.0)
    assert timed.working == 136.0
