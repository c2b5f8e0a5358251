"""Picking, among Slurm's answers about a job id, the one about our job's current run."""

import time
from datetime import datetime, timedelta

import pytest

from pbt_tracker.backends.slurm.output import JobObservation, parse_sacct, parse_squeue
from pbt_tracker.backends.slurm.runs import is_same_job, newest_run
from pbt_tracker.backends.slurm.tags import tags_in


@pytest.fixture(autouse=True)
def utc_clock(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# --- newest_run --------------------------------------------------------------------

# Captured on the one-node Slurm 22.05.8: job 251 requeued with `scontrol requeue` while running
# (Slurm gave the new run a new submit time), then ran again to completion.
REQUEUED_THEN_PENDING = """\
251|REQUEUED|0:0|vm|2026-11-29T19:57:24|2026-11-29T19:57:25|2026-11-29T19:57:24|None|
251.batch|CANCELLED|0:15|vm|2026-11-29T19:57:24|2026-11-29T19:57:25|2026-11-29T19:57:24||
251|PENDING|0:0|None assigned|Unknown|Unknown|2026-11-29T19:57:26|None|
"""
REQUEUED_THEN_COMPLETED = """\
251|REQUEUED|0:0|vm|2026-11-29T19:57:24|2026-11-29T19:57:25|2026-11-29T19:57:24|None|
251.batch|CANCELLED|0:15|vm|2026-11-29T19:57:24|2026-11-29T19:57:25|2026-11-29T19:57:24||
251|COMPLETED|0:0|vm|2026-11-29T19:59:28|2026-11-29T19:59:32|2026-11-29T19:57:26|BeginTime|
251.batch|COMPLETED|0:0|vm|2026-11-29T19:59:28|2026-11-29T19:59:32|2026-11-29T19:59:28||
"""


def test_a_requeued_job_is_in_the_state_of_its_new_run():
    assert newest_run(parse_sacct(REQUEUED_THEN_PENDING)["251"]).state == "PENDING"


def test_a_requeued_job_that_ran_again_settles_in_the_state_of_its_last_run():
    """Taking the first row, as sync did, left such a job REQUEUED for ever."""
    latest = newest_run(parse_sacct(REQUEUED_THEN_COMPLETED)["251"])
    assert (latest.state, latest.started_at, latest.reason) == ("COMPLETED", datetime(2026, 11, 29, 19, 59, 28), None)


def test_the_newest_run_is_found_whatever_order_sacct_prints_the_rows_in():
    rows = parse_sacct(REQUEUED_THEN_COMPLETED)["251"]
    assert newest_run(list(reversed(rows))).state == "COMPLETED"


def test_an_old_job_that_had_the_same_id_is_older_than_ours():
    old = "70|COMPLETED|0:0|vm|2026-01-05T10:00:00|2026-01-05T10:00:10|2026-01-05T09:59:59|None|"
    new = "70|RUNNING|0:0|vm|2026-11-24T17:30:00|Unknown|2026-11-24T17:29:59|None|"
    assert newest_run(parse_sacct(f"{new}\n{old}\n")["70"]).state == "RUNNING"


def run(state, submitted, started=None):
    return JobObservation("80", state, 0, None, None, started, None, submitted, "sacct")


T0 = datetime(2026, 11, 29, 19, 0, 0)


@pytest.mark.parametrize(
    ("rows", "newest"),
    [
        # same submit time: a run that has not started comes after one that has
        ([run("PREEMPTED", T0, T0), run("PENDING", T0)], 1),
        ([run("PENDING", T0), run("PREEMPTED", T0, T0)], 0),
        # same submit time, both started: the later start
        ([run("NODE_FAIL", T0, T0 + timedelta(minutes=5)), run("RUNNING", T0, T0 + timedelta(minutes=1))], 0),
        # nothing tells them apart: the later row
        ([run("REQUEUED", T0, T0), run("RUNNING", T0, T0)], 1),
        # a row without a submit time is the oldest
        ([run("RUNNING", T0), run("COMPLETED", None, T0)], 0),
        ([run("FAILED", T0)], 0),
    ],
)
def test_newest_run_by_submit_time_then_start_then_order(rows, newest):
    assert newest_run(rows) is rows[newest]


def test_newest_run_of_no_rows_is_none():
    assert newest_run([]) is None


# --- is_same_job -------------------------------------------------------------------

TAG = "pbt-track:c5d3dcb713a54fd09852d339b86d6e89:1"

# Captured (the job was held; only the comment and times matter here). The controller's clock was 10 minutes
# behind the submit host's: pbt-track noted its intent at 20:03:06, Slurm the submission at 19:53:07.
OURS_PENDING = (
    "217|PENDING|0||N/A|N/A|2026-11-29T19:53:07|JobHeldUser|pbt-track:c5d3dcb713a54fd09852d339b86d6e89:1|"
)


def test_our_tag_makes_it_our_job():
    assert is_same_job(parse_squeue(OURS_PENDING)["217"], TAG) is True


def test_another_pbt_track_tag_is_another_job():
    observation = parse_squeue(OURS_PENDING)["217"]
    assert is_same_job(observation, "pbt-track:c5d3dcb713a54fd09852d339b86d6e89:2") is False


def test_a_tag_is_not_taken_for_a_longer_one_it_begins():
    observation = JobObservation("9", "RUNNING", comment="pbt-track:ab12:12")
    assert is_same_job(observation, "pbt-track:ab12:1") is False


def test_our_tag_inside_a_comment_a_site_extended_is_found():
    observation = JobObservation("9", "RUNNING", comment="project=rl; pbt-track:ab12:1 (checked)")
    assert is_same_job(observation, "pbt-track:ab12:1") is True


@pytest.mark.parametrize("shift", [timedelta(minutes=-10), timedelta(0), timedelta(minutes=10)])
@pytest.mark.parametrize("comment", [None, "", "someone else's comment"])
def test_without_a_tag_the_id_decides_and_no_clock_does(comment, shift):
    """sacct where the cluster stores no comments: a submit time ten minutes off either way changes nothing."""
    observation = JobObservation("9", "RUNNING", submitted_at=datetime(2026, 11, 29, 20, 3, 6) + shift,
                                 comment=comment)
    assert is_same_job(observation, TAG) is True


def test_without_an_expected_tag_the_id_decides():
    """Submissions recorded before jobs carried tags have none to compare."""
    assert is_same_job(JobObservation("9", "RUNNING", comment=TAG), None) is True


def test_tags_in_finds_every_tag_and_nothing_else():
    assert tags_in("pbt-track:ab:1,pbt-track:ab:array2 pbt-track: x") == {"pbt-track:ab:1", "pbt-track:ab:array2"}
    assert tags_in(None) == set()
