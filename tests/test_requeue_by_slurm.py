"""A job that ends NODE_FAIL may be run again by Slurm under the same id: the keeper never sends a second copy.

The scheduler is stand-in programs on PATH (sbatch, squeue, sacct): a
one-node Slurm shared by other tests cannot lose its node, so NODE_FAIL and
Slurm's own requeue after it are played from literal listings.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.keeper.rules import REQUEUE_SETTLE_SECONDS
from tests.conftest import query

# squeue's lines when asked about the jobs by id (--jobs): state, times, reason and comment, no script.
RUNNING = "{id}|RUNNING|0|vm|{start}|N/A|{start}|None||"
REQUEUED = "{id}|PENDING|0||N/A|N/A|{start}|BeginTime||"


def slurm_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def scheduler(in_repo: Path, tmp_path: Path, fake_bin):  # type: ignore[no-untyped-def]
    """Stand-ins whose answers the test writes: squeue prints `listing`, sacct prints `accounting`."""
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "next-id").write_text("7764")
    (answers / "accounting").write_text("")
    fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {answers}/next-id); echo $((id + 1)) > {answers}/next-id\n'
                       f'echo "$@" >> {answers}/sbatch-calls\necho "$id"\n')
    fake_bin("squeue", f"#!/bin/sh\ncat {answers}/listing\n")
    fake_bin("sacct", f"#!/bin/sh\ncat {answers}/accounting\n")
    return answers


def listing(answers: Path, lines: list[str]) -> None:
    (answers / "listing").write_text("".join(f"{line}\n" for line in lines))


def submit_and_run(tmp_path: Path, answers: Path) -> tuple[Path, datetime]:
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--pause_between", "0",
                                      "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    start = datetime.now() - timedelta(minutes=2)
    listing(answers, [RUNNING.format(id=job, start=slurm_time(start)) for job in (7764, 7765, 7766)])
    return work, start


def node_failed(answers: Path, start: datetime, ended: datetime) -> None:
    """Job 7764 gone from squeue, and sacct saying its run ended NODE_FAIL at `ended`."""
    listing(answers, [RUNNING.format(id=job, start=slurm_time(start)) for job in (7765, 7766)])
    (answers / "accounting").write_text(
        f"7764|NODE_FAIL|0:0|vm|{slurm_time(start)}|{slurm_time(ended)}|{slurm_time(start)}|None|\n")


def watch(work: Path):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["watch", "--workdir", str(work), "--once"])
    assert result.exit_code == 0, result.output
    return result


def history(work: Path, job_id: str) -> list[str]:
    return [state for (state,) in query(work / "pbt_tracker.db", "SELECT c.state FROM state_changes AS c JOIN "
                                        "submissions AS s ON s.id = c.submission_id WHERE s.job_id = ? "
                                        "ORDER BY c.id", job_id)]


def test_a_node_failure_that_slurm_requeues_is_followed_not_resumed(tmp_path: Path, scheduler: Path) -> None:
    work, start = submit_and_run(tmp_path, scheduler)
    watch(work)
    node_failed(scheduler, start, datetime.now() - timedelta(seconds=5))

    waited = watch(work)

    assert waited.output == (f"00_echo_pbt: wait: attempt 1 ended NODE_FAIL, which Slurm may requeue by itself; "
                             f"resumed after {REQUEUE_SETTLE_SECONDS:g} s unless it does\n")
    listing(scheduler, [REQUEUED.format(id=7764, start=slurm_time(start))]
            + [RUNNING.format(id=job, start=slurm_time(start)) for job in (7765, 7766)])

    assert watch(work).output == ""
    assert len((scheduler / "sbatch-calls").read_text().splitlines()) == 3
    assert history(work, "7764") == ["SUBMITTING", "SUBMITTED", "RUNNING", "NODE_FAIL", "PENDING"]
    assert query(work / "pbt_tracker.db", "SELECT state, node, started_at, ended_at, pending_reason FROM submissions "
                 "WHERE job_id = '7764'") == [("PENDING", None, None, None, "BeginTime")]
    assert query(work / "pbt_tracker.db", "SELECT action FROM keeper_decisions") == [("wait",)]


def test_a_node_failure_slurm_did_not_requeue_is_resumed_once_the_settle_time_has_passed(
    tmp_path: Path, scheduler: Path
) -> None:
    work, start = submit_and_run(tmp_path, scheduler)
    watch(work)
    node_failed(scheduler, start, datetime.now() - timedelta(seconds=REQUEUE_SETTLE_SECONDS + 30))

    resumed = watch(work)

    assert resumed.output.splitlines()[0] == "00_echo_pbt: resume: attempt 1 ended NODE_FAIL; resumed as attempt 2"
    assert len((scheduler / "sbatch-calls").read_text().splitlines()) == 4
    assert query(work / "pbt_tracker.db", "SELECT s.attempt, s.state, s.job_id FROM submissions AS s JOIN "
                 "experiments AS e ON e.id = s.experiment_id WHERE e.name = '00_echo_pbt' ORDER BY s.attempt") == [
        (1, "NODE_FAIL", "7764"), (2, "SUBMITTED", "7767")]


def test_a_requeue_found_hours_after_the_node_failure_is_followed_and_never_resubmitted(
    tmp_path: Path, scheduler: Path
) -> None:
    """No sync ran for hours after the end; Slurm has requeued the job meanwhile, and resubmit-failed leaves it be."""
    work, start = submit_and_run(tmp_path, scheduler)
    watch(work)
    node_failed(scheduler, start, datetime.now() - timedelta(hours=3))
    assert CliRunner().invoke(cli, ["sync", "--workdir", str(work)]).exit_code == 0
    with sqlite3.connect(work / "pbt_tracker.db") as connection:  # as if that sync had run three hours ago
        connection.execute("UPDATE submissions SET updated_at = datetime('now', '-3 hours') WHERE job_id = '7764'")
    listing(scheduler, [REQUEUED.format(id=7764, start=slurm_time(start))]
            + [RUNNING.format(id=job, start=slurm_time(start)) for job in (7765, 7766)])

    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work)])

    assert result.exit_code == 0, result.output
    assert len((scheduler / "sbatch-calls").read_text().splitlines()) == 3
    assert history(work, "7764") == ["SUBMITTING", "SUBMITTED", "RUNNING", "NODE_FAIL", "PENDING"]


def test_an_end_slurm_has_forgotten_is_no_longer_asked_about(tmp_path: Path, scheduler: Path) -> None:
    """Two listings of other jobs, far enough apart, lack it: a job Slurm no longer knows is never requeued."""
    work, start = submit_and_run(tmp_path, scheduler)
    watch(work)
    node_failed(scheduler, start, datetime.now() - timedelta(hours=3))
    for _ in range(3):  # the end, then two answers without the job
        assert CliRunner().invoke(cli, ["sync", "--workdir", str(work)]).exit_code == 0
    with sqlite3.connect(work / "pbt_tracker.db") as connection:  # the second answer came a minute after the first
        connection.execute("UPDATE submissions SET unseen_since = datetime('now', '-1 minutes') WHERE job_id = '7764'")
    assert query(work / "pbt_tracker.db", "SELECT state, unseen_count FROM submissions WHERE job_id = '7764'") == [
        ("NODE_FAIL", 2)]
    listing(scheduler, [REQUEUED.format(id=7764, start=slurm_time(start))]  # the id, now another job's
            + [RUNNING.format(id=job, start=slurm_time(start)) for job in (7765, 7766)])

    assert CliRunner().invoke(cli, ["sync", "--workdir", str(work)]).exit_code == 0

    assert history(work, "7764") == ["SUBMITTING", "SUBMITTED", "RUNNING", "NODE_FAIL"]
