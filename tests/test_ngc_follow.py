"""NGC jobs followed after submission: states by `ngc batch list`/`info`, cancel by `ngc batch kill`, and purge.

NGC's service and its CLI cannot be reached from here: these tests use the
stand-in `ngc` of tests/test_ngc_backend.py, first on PATH, which keeps its
jobs' statuses in a JSON file the tests set and answers `batch run`, `info`,
`list` and `kill` in the forms the real CLI prints (pinned in
tests/test_ngc_answers.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import query
from tests.test_ngc_backend import IDS, RUN, TEMPLATE, calls, db, head, ngc, shown, submit

__all__ = ["ngc"]  # the fixture, used by name


def set_status(tmp_path: Path, **statuses: str) -> None:
    """What NGC now shows for the stand-in's jobs, by job id (given as _4417013=...)."""
    path = tmp_path / "ngc_jobs.json"
    jobs = json.loads(path.read_text())
    for job_id, status in statuses.items():
        jobs[job_id.lstrip("_")]["status"] = status
    path.write_text(json.dumps(jobs))


def cli_run(tmp_path: Path, *args: str, workdir: str = "w"):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, [*args, "--workdir", str(tmp_path / workdir)])


def test_a_job_template_asking_for_json_gives_the_job_id_from_it(ngc: Path, tmp_path: Path) -> None:
    (tmp_path / "job.txt").write_text(TEMPLATE.replace("ngc batch run", "ngc batch run --format_type json"))
    assert submit(tmp_path).exit_code == 0
    assert query(db(tmp_path), "SELECT state, job_id FROM submissions ORDER BY id") == [
        ("SUBMITTED", job_id) for job_id in IDS]


def test_an_answer_without_a_job_id_is_said_in_one_line_and_the_attempt_stays_submitted(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NGC_STANDIN_NO_ID", "1")
    result = submit(tmp_path)
    t = tmp_path / "t"
    missing = ("ngc accepted 0{}_ant but printed no job id pbt-track can read; it stays SUBMITTED and is not followed "
               "(add --format_type json to the job template)")
    assert (result.exit_code, result.output.splitlines()) == (0, [
        *head(), *shown(0, t), missing.format(0), *shown(1, t), missing.format(1), *shown(2, t), missing.format(2),
        f"Recorded in {db(tmp_path)} (launch 1)", "Done!"])
    assert query(db(tmp_path), "SELECT state, job_id FROM submissions ORDER BY id") == [("SUBMITTED", None)] * 3
    assert cli_run(tmp_path, "sync").output == "Asked about 0 job(s) in 0 scheduler call(s); 0 changed.\n"
    assert query(db(tmp_path), "SELECT DISTINCT state FROM submissions") == [("SUBMITTED",)]


def test_sync_settles_ngc_states_from_one_listing_and_info_for_the_jobs_it_leaves_out(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(tmp_path)
    set_status(tmp_path, _4417013="RUNNING", _4417014="FINISHED_SUCCESS", _4417015="FAILED")
    monkeypatch.setenv("NGC_STANDIN_UNLISTED", "4417015")  # the listing's window has passed it: info asks
    result = cli_run(tmp_path, "sync")
    assert (result.exit_code, result.output) == (0, "Asked about 3 job(s) in 2 scheduler call(s); 3 changed.\n")
    assert [call["argv"] for call in calls(ngc)[3:]] == [
        ["batch", "list", "--format_type", "json"], ["batch", "info", "4417015", "--format_type", "json"]]
    assert query(db(tmp_path), "SELECT state FROM submissions ORDER BY id") == [
        ("RUNNING",), ("COMPLETED",), ("FAILED",)]
    report = cli_run(tmp_path, "report", "-o", "experiment,state")
    assert report.output.splitlines()[-1] == "3 experiments: 1 COMPLETED, 1 FAILED, 1 RUNNING"


def test_only_a_positive_answer_changes_an_ngc_state(ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty listing, an info that fails and a status that says nothing leave the states as they were."""
    submit(tmp_path)
    set_status(tmp_path, _4417013="RUNNING", _4417014="RESOURCE_RELEASED")
    monkeypatch.setenv("NGC_STANDIN_UNLISTED", ",".join(IDS))
    jobs = json.loads((tmp_path / "ngc_jobs.json").read_text())
    del jobs["4417015"]  # NGC answers "not found" for it
    (tmp_path / "ngc_jobs.json").write_text(json.dumps(jobs))
    result = cli_run(tmp_path, "sync")
    assert (result.exit_code, result.stdout) == (0, "Asked about 3 job(s) in 4 scheduler call(s); 1 changed.\n")
    assert "ngc showed status(es) RESOURCE_RELEASED, which say nothing of how a run went" in result.stderr
    assert query(db(tmp_path), "SELECT state FROM submissions ORDER BY id") == [
        ("RUNNING",), ("SUBMITTED",), ("SUBMITTED",)]


def test_sync_without_ngc_says_so_in_one_line_and_changes_nothing(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = cli_run(tmp_path, "sync")
    assert (result.exit_code, result.output) == (1, "Error: ngc was not found on PATH, and NGC jobs' states are read "
                                                    "with it; install the NGC CLI here, or sync where it is\n")
    assert query(db(tmp_path), "SELECT DISTINCT state FROM submissions") == [("SUBMITTED",)]


def test_cancel_runs_ngc_batch_kill_on_record_and_the_kill_answer_makes_the_job_cancelled(
    ngc: Path, tmp_path: Path
) -> None:
    submit(tmp_path)
    set_status(tmp_path, _4417013="RUNNING", _4417014="RUNNING", _4417015="FINISHED_SUCCESS")
    result = cli_run(tmp_path, "cancel", "--all", "--no-sync")
    assert (result.exit_code, result.output.splitlines()) == (1, [
        "Cancelled 00_ant (job 4417013)", "Cancelled 01_ant (job 4417014)",
        "Not cancelled 02_ant (job 4417015): ngc said: Job is already in a terminal state.",
        "Error: ngc refused 1 of 3 job(s), listed above; their states were left as they were: run `pbt-track sync` "
        "to see where they stand"])
    kill = ["batch", "kill", ",".join(IDS)]
    assert calls(ngc)[3]["argv"] == kill
    assert query(db(tmp_path), "SELECT argv, job_ids, returncode FROM cancellations") == [
        (json.dumps(["ngc", *kill]), json.dumps(IDS), 0)]
    assert query(db(tmp_path), "SELECT state, cancel_requested_at IS NOT NULL FROM submissions ORDER BY id") == [
        ("SUBMITTED", 1), ("SUBMITTED", 1), ("SUBMITTED", 0)]
    assert cli_run(tmp_path, "sync").exit_code == 0
    assert query(db(tmp_path), "SELECT state FROM submissions ORDER BY id") == [
        ("CANCELLED",), ("CANCELLED",), ("COMPLETED",)]


def test_cancel_reads_the_killed_jobs_back_at_once(ngc: Path, tmp_path: Path) -> None:
    submit(tmp_path)
    result = cli_run(tmp_path, "cancel", "01_ant")
    assert (result.exit_code, result.output) == (0, "Cancelled 01_ant (job 4417014)\n")
    assert [call["argv"] for call in calls(ngc)[-2:]] == [
        ["batch", "kill", "4417014"], ["batch", "info", "4417014", "--format_type", "json"]]
    assert query(db(tmp_path), "SELECT state FROM submissions ORDER BY id") == [
        ("SUBMITTED",), ("CANCELLED",), ("SUBMITTED",)]


def test_cancel_without_ngc_says_so_in_one_line_and_records_nothing(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = cli_run(tmp_path, "cancel", "--all", "--no-sync")
    assert (result.exit_code, result.output) == (1, "Error: ngc was not found on PATH, and NGC jobs are cancelled "
                                                    "with it; install the NGC CLI here, or cancel where it is\n")
    assert query(db(tmp_path), "SELECT count(*) FROM cancellations") == [(0,)]


def test_a_job_killed_outside_pbt_track_is_settled_by_the_sync_before_purge(ngc: Path, tmp_path: Path) -> None:
    """The loop of advice is gone: `ngc batch kill` by hand, then purge, which syncs first."""
    submit(tmp_path)
    set_status(tmp_path, _4417013="KILLED_BY_USER", _4417014="KILLED_BY_USER", _4417015="FINISHED_SUCCESS")
    result = cli_run(tmp_path, "forget", "--launch", "1", "--purge", "--yes")
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        0, "Deleted launch 1 from the record; its scripts and logs are still on disk.")
    assert query(db(tmp_path), "SELECT count(*) FROM launches") == [(0,)]


def test_purge_of_a_running_ngc_launch_advises_a_cancel_that_reaches_it(ngc: Path, tmp_path: Path) -> None:
    submit(tmp_path)
    refused = cli_run(tmp_path, "forget", "--launch", "1", "--purge", "--yes")
    assert (refused.exit_code, refused.output.splitlines()[-1]) == (
        1, "Error: launch 1 has 3 submission(s) that may still run; cancel them first "
           "(`pbt-track cancel --launch 1 --all-launches`), then purge")
    assert cli_run(tmp_path, "cancel", "--launch", "1", "--all-launches").exit_code == 0
    assert cli_run(tmp_path, "forget", "--launch", "1", "--purge", "--yes").exit_code == 0


def test_attempts_without_a_job_id_block_purge_until_the_user_says_they_ended(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NGC_STANDIN_NO_ID", "1")
    submit(tmp_path)
    cancel = cli_run(tmp_path, "cancel", "--all")
    assert (cancel.exit_code, cancel.output.splitlines()[-1]) == (
        1, "Error: 00_ant, 01_ant, 02_ant have no job id on record (NGC accepted them without one pbt-track could "
           "read): stop them with NGC's own tools")
    refused = cli_run(tmp_path, "forget", "--launch", "1", "--purge", "--yes")
    assert (refused.exit_code, refused.output.splitlines()[-1]) == (1, (
        "Error: launch 1 has 3 submission(s) accepted without a job id pbt-track could read, so it cannot tell "
        "whether they still run; check with the scheduler's own tools (NGC: `ngc batch list`) that they have ended, "
        "then purge with --unidentified-ended"))
    assert query(db(tmp_path), "SELECT count(*) FROM launches") == [(1,)]
    done = cli_run(tmp_path, "forget", "--launch", "1", "--purge", "--yes", "--unidentified-ended")
    assert (done.exit_code, done.output.splitlines()[-1]) == (
        0, "Deleted launch 1 from the record; its scripts and logs are still on disk.")
    assert query(db(tmp_path), "SELECT count(*) FROM submissions") == [(0,)]


def test_unidentified_ended_goes_with_purge_only(ngc: Path, tmp_path: Path) -> None:
    submit(tmp_path)
    result = cli_run(tmp_path, "forget", "--launch", "1", "--unidentified-ended")
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        2, "Error: --unidentified-ended goes with --purge; add --purge, or leave it out (see `cli forget --help`)")
    assert query(db(tmp_path), "SELECT forgotten_at FROM launches") == [(None,)]


def test_forget_says_what_still_reaches_ngc_jobs_without_naming_scancel_sh(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(tmp_path)
    result = cli_run(tmp_path, "forget", "--launch", "1", "--no-sync")
    assert result.output.splitlines() == [
        "Forgot launch 1 (trio, 3 experiments): only --all-launches shows it now; nothing was deleted.",
        "Note: 3 of its submissions may still run; `pbt-track cancel --launch 1 --all-launches` still reaches them."]
    monkeypatch.setenv("NGC_STANDIN_NO_ID", "1")
    monkeypatch.setenv("NGC_STANDIN_DB", str(tmp_path / "w2" / "pbt_tracker.db"))
    no_ids = CliRunner().invoke(cli, ["submit", "--run", RUN, "--backend", "ngc", "--ngc_job_template",
                                      str(tmp_path / "job.txt"), "--workdir", str(tmp_path / "w2"),
                                      "--train_dir", str(tmp_path / "t")])
    assert no_ids.exit_code == 0, no_ids.output
    result = cli_run(tmp_path, "forget", "--launch", "1", workdir="w2")
    assert result.output.splitlines()[-1] == (
        "Note: 3 of its submissions may still run; `pbt-track cancel --launch 1 --all-launches` still reaches them; "
        "3 have no job id on record, which only the scheduler's own tools (NGC: ngc batch list) can find.")


def test_an_ngc_that_does_not_answer_may_have_submitted_and_purge_waits_for_the_users_word(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stand-in: an ngc that hangs past pbt-track's time-out, as a CLI whose service is slow to answer."""
    (tmp_path / "bin" / "ngc").write_text("#!/bin/sh\nsleep 5\n")
    monkeypatch.setenv("PBT_TRACK_SCHEDULER_TIMEOUT", "0.2")  # once per experiment: three in all
    result = submit(tmp_path)
    assert result.exit_code == 1
    assert ("3 of 3 experiments may have been submitted: ngc did not answer; check `ngc batch list` before sending "
            "them again (`pbt-track resubmit-failed --include-uncertain`).") in result.output.splitlines()
    assert "were not submitted" not in result.output
    assert query(db(tmp_path), "SELECT DISTINCT state FROM submissions") == [("SUBMIT_UNCERTAIN",)]

    refused = cli_run(tmp_path, "forget", "--launch", "1", "--purge", "--yes", "--no-sync")
    assert (refused.exit_code, refused.output.splitlines()[-1]) == (1, (
        "Error: launch 1 has 3 submission(s) accepted without a job id pbt-track could read, so it cannot tell "
        "whether they still run; check with the scheduler's own tools (NGC: `ngc batch list`) that they have ended, "
        "then purge with --unidentified-ended"))
    done = cli_run(tmp_path, "forget", "--launch", "1", "--purge", "--yes", "--unidentified-ended", "--no-sync")
    assert done.exit_code == 0, done.output
    assert query(db(tmp_path), "SELECT count(*) FROM submissions") == [(0,)]
