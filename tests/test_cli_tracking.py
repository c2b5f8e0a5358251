"""report, sync, cancel and resubmit-failed on records that need no cluster: print-only launches."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import file_digest, query

PBT = "tests.fixtures.pbt_echo"


@pytest.fixture
def printed(in_repo: Path, tmp_path: Path) -> Path:
    """A workdir holding one print-only launch of the three-policy PBT run."""
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                      "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    return work


def invoke(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(argv))
    return result.exit_code, result.stdout, result.stderr


def test_report_shows_one_row_per_experiment_and_a_summary(printed: Path) -> None:
    code, out, _ = invoke("report", "--workdir", str(printed), "--wide")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "run", "experiment", "attempt", "job_id", "state", "exit_code", "elapsed", "node", "log", "reason"
    ]
    assert [line.split()[:5] for line in lines[2:5]] == [
        ["echo_pbt", "00_echo_pbt", "1", "-", "PRINT_ONLY"],
        ["echo_pbt", "01_echo_pbt", "1", "-", "PRINT_ONLY"],
        ["echo_pbt", "02_echo_pbt", "1", "-", "PRINT_ONLY"],
    ]
    assert lines[-1] == "3 experiments: 3 PRINT_ONLY"


def test_report_json_has_the_documented_keys(printed: Path) -> None:
    code, out, _ = invoke("report", "--workdir", str(printed), "--format", "json", "--experiment", "01_echo_pbt")
    assert code == 0
    (row,) = json.loads(out)
    assert {"run", "experiment", "attempt", "job_id", "state", "exit_code", "log", "script"} <= set(row)
    assert (row["run"], row["experiment"], row["attempt"], row["job_id"], row["state"], row["exit_code"]) == (
        "echo_pbt", "01_echo_pbt", 1, None, "PRINT_ONLY", None
    )
    assert row["script"] == str(printed / "sbatch_01_echo_pbt.sh")


def test_report_csv_and_filters(printed: Path) -> None:
    code, out, _ = invoke("report", "--workdir", str(printed), "--format", "csv", "--experiment", "echo_pbt",
                          "--state", "print_only", "--run", "echo_pbt")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["experiment"] for row in rows] == ["00_echo_pbt", "01_echo_pbt", "02_echo_pbt"]
    code, out, _ = invoke("report", "--workdir", str(printed), "--format", "csv", "--state", "FAILED")
    assert out == (
        "run,experiment,attempt,job_id,state,exit_code,elapsed,node,log,script,launch_id,backend,"
        "submitted_at,started_at,ended_at,exit_signal,pending_reason,cancel_requested,clock_skew,pbt_policy,pbt_iteration,pbt_objective,"
        "pbt_best_objective,pbt_population_best,pbt_params,partition,time_limit,time_left\n"
    )


def test_report_finds_the_workdir_from_the_environment(printed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBT_TRACK_WORKDIR", str(printed))
    code, out, _ = invoke("report", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 3


def test_the_experiment_status_view_agrees_with_report(printed: Path) -> None:
    _, out, _ = invoke("report", "--workdir", str(printed), "--format", "json")
    rows = [(r["run"], r["experiment"], r["attempt"], r["job_id"], r["state"], r["exit_code"], r["script"], r["log"])
            for r in json.loads(out)]
    assert query(printed / "pbt_tracker.db",
                 "SELECT run, experiment, attempt, job_id, state, exit_code, script_path, log_path "
                 "FROM experiment_status ORDER BY launch_id, experiment") == rows


@pytest.mark.parametrize("command", [["report"], ["sync"], ["cancel", "--all"], ["resubmit-failed"]])
def test_commands_say_plainly_when_the_workdir_has_no_database(tmp_path: Path, command: list[str]) -> None:
    code, out, err = invoke(*command, "--workdir", str(tmp_path))
    assert code == 1
    assert err == (
        f"Error: no pbt-track database in {tmp_path} (looked for pbt_tracker.db); "
        "pass the --workdir of a launch, or set PBT_TRACK_WORKDIR\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_cancel_needs_to_be_told_what_to_cancel(printed: Path) -> None:
    before = file_digest(printed / "pbt_tracker.db")
    code, _, err = invoke("cancel", "--workdir", str(printed))
    assert code == 1
    assert err == "Error: say what to cancel: --experiment NAME, --run NAME, --job ID, --state STATE, or --all\n"
    assert file_digest(printed / "pbt_tracker.db") == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cancel", "--experiment", "07_nope"],
         "no experiment named 07_nope in this workdir; `pbt-track report` lists the experiments"),
        (["report", "--run", "other_run"], "no run named other_run in this workdir; `pbt-track report` lists the runs"),
        (["cancel", "--job", "424242"],
         "job 424242 was not submitted from this workdir; `pbt-track report` lists the jobs"),
        (["resubmit-failed", "--experiment", "x'; DROP TABLE submissions; --"],
         "no experiment named x'; DROP TABLE submissions; -- in this workdir; `pbt-track report` lists the experiments"),
        (["resubmit-failed", "--max-attempts", "0"], "--max-attempts must be 1 or more, not 0"),
    ],
)
def test_selections_that_match_nothing_are_errors_not_silence(printed: Path, argv: list[str], message: str) -> None:
    code, _, err = invoke(*argv, "--workdir", str(printed), "--no-sync")
    assert (code, err) == (1, f"Error: {message}\n")
    assert query(printed / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(3,)]


def test_cancel_with_nothing_running_says_so(printed: Path) -> None:
    code, out, _ = invoke("cancel", "--workdir", str(printed), "--experiment", "echo_pbt")
    assert (code, out) == (0, "Nothing to cancel: no job of this selection may still be running.\n")
    assert query(printed / "pbt_tracker.db", "SELECT count(*) FROM cancellations") == [(0,)]


def test_resubmit_leaves_print_only_experiments_alone(printed: Path) -> None:
    code, out, _ = invoke("resubmit-failed", "--workdir", str(printed), "--dry-run")
    assert (code, out) == (0, "Nothing to resubmit: no experiment's latest attempt failed.\n")


def test_sync_of_a_record_with_nothing_running_asks_the_scheduler_nothing(printed: Path) -> None:
    code, out, _ = invoke("sync", "--workdir", str(printed))
    assert (code, out) == (0, "Asked about 0 job(s) in 0 scheduler call(s); 0 changed.\n")


def test_every_command_has_an_example_in_its_help() -> None:
    for command in ("submit", "sync", "report", "cancel", "resubmit-failed"):
        assert "Example:" in invoke(command, "--help")[1], command
