"""report, show, logs and completion on a record set by hand: a Slurm launch whose jobs ended as a cluster
would have left them (the states, the signal and the pending reason are written as sync records them)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli

PBT = "tests.fixtures.pbt_echo"

OUTCOMES = """
UPDATE submissions SET state='COMPLETED', job_id='7600', exit_code=0, node='node-a', submitted_at='2026-11-29 10:00:00',
    started_at='2026-11-29 10:00:05.5', ended_at='2026-11-29 11:02:03' WHERE id=1;
UPDATE submissions SET state='FAILED', job_id='7601', exit_code=0, exit_signal=9, node='node-b',
    submitted_at='2026-11-29 10:00:01', started_at='2026-11-29 10:00:06', ended_at='2026-11-29 10:30:06' WHERE id=2;
UPDATE submissions SET state='PENDING', job_id='7602', pending_reason='Resources', submitted_at='2026-11-29 10:00:02'
    WHERE id=3;
"""


@pytest.fixture
def work(in_repo: Path, tmp_path: Path) -> Path:
    """Three policies: one COMPLETED, one killed by SIGKILL (0:9), one PENDING for Resources."""
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                      "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.executescript(OUTCOMES)
    connection.close()
    return work


def invoke(*argv: str, columns: int = 80, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(argv), prog_name="pbt-track", env={"COLUMNS": str(columns), **env})
    return result.exit_code, result.stdout, result.stderr


def test_the_default_report_fits_80_columns_dropping_the_log_and_the_single_run(work: Path) -> None:
    code, out, _ = invoke("report", "--workdir", str(work), "--no-sync")
    assert code == 0
    assert out == (
        "experiment   attempt  job_id  state      exit_code  elapsed  node\n"
        "-----------  -------  ------  ---------  ---------  -------  -----------\n"
        "00_echo_pbt        1  7600    COMPLETED          0  1:01:57  node-a\n"
        "01_echo_pbt        1  7601    FAILED           0:9  0:30:00  node-b\n"
        "02_echo_pbt        1  7602    PENDING            -        -  (Resources)\n"
        "3 experiments: 1 COMPLETED, 1 FAILED, 1 PENDING\n"
    )
    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_wider_terminal_gets_the_log_file_name_and_the_wide_table_everything(work: Path) -> None:
    _, out, _ = invoke("report", "--workdir", str(work), "--no-sync", columns=120)
    assert out.splitlines()[2] == (
        "echo_pbt  00_echo_pbt        1  7600    COMPLETED          0  1:01:57  node-a       "
        "sbatch_00_echo_pbt.sh-slurm-7600.out"
    )
    _, out, _ = invoke("report", "--workdir", str(work), "--no-sync", "--wide")
    assert out.splitlines()[0].split() == [
        "run", "experiment", "attempt", "job_id", "state", "exit_code", "elapsed", "node", "log", "reason"
    ]
    assert f"{work}/sbatch_02_echo_pbt.sh-slurm-7602.out  Resources" in out.splitlines()[4]


def test_columns_are_chosen_with_o_and_an_unknown_one_is_refused(work: Path) -> None:
    code, out, _ = invoke("report", "--workdir", str(work), "--no-sync", "-o", "job_id,state,reason")
    assert (code, out) == (0, (
        "job_id  state      reason\n"
        "------  ---------  ---------\n"
        "7600    COMPLETED  -\n"
        "7601    FAILED     -\n"
        "7602    PENDING    Resources\n"
        "3 experiments: 1 COMPLETED, 1 FAILED, 1 PENDING\n"
    ))
    code, _, err = invoke("report", "--workdir", str(work), "--no-sync", "-o", "state,colour")
    assert code == 2
    assert err.startswith("Error: Invalid value for '-o' / '--columns': unknown column colour; choose among run, ")


def test_squeue_habits_short_states_comma_lists_and_job_ids(work: Path) -> None:
    code, out, _ = invoke("report", "--workdir", str(work), "--no-sync", "-t", "PD,f", "-o", "job_id")
    assert (code, out.splitlines()[2:4]) == (0, ["7601", "7602"])
    code, out, _ = invoke("report", "--workdir", str(work), "--no-sync", "-j", "7600,7602", "-o", "job_id")
    assert (code, out.splitlines()[2:4]) == (0, ["7600", "7602"])
    code, _, err = invoke("report", "--workdir", str(work), "--no-sync", "--state", "RUNNIN")
    assert code == 2
    assert err.startswith("Error: Invalid value for '-t' / '--state': RUNNIN is not a job state (did you mean RUNNING?); use one of ")


def test_json_carries_the_signal_and_the_pending_reason_in_iso_utc(work: Path) -> None:
    code, out, _ = invoke("report", "--workdir", str(work), "--no-sync", "--format", "json")
    rows = json.loads(out)
    assert code == 0
    assert [(r["exit_code"], r["exit_signal"], r["pending_reason"]) for r in rows] == [
        (0, None, None), (0, 9, None), (None, None, "Resources")
    ]
    assert (rows[0]["submitted_at"], rows[0]["started_at"], rows[0]["ended_at"]) == (
        "2026-11-29T10:00:00Z", "2026-11-29T10:00:05Z", "2026-11-29T11:02:03Z"
    )


def test_cancel_takes_job_ids_and_names_as_arguments(work: Path) -> None:
    code, _, err = invoke("cancel", "--workdir", str(work), "--no-sync", "--dry-run", "9999")
    assert (code, err) == (1, "Error: job 9999 was not submitted from this workdir; "
                              "`pbt-track report` lists the jobs\n")
    code, out, _ = invoke("cancel", "--workdir", str(work), "--no-sync", "--dry-run", "7602", "01_echo_pbt")
    assert (code, out) == (0, "Would cancel 02_echo_pbt (job 7602)\n")
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE submissions SET state='RUNNING' WHERE job_id = '7601'")
    connection.close()
    code, out, _ = invoke("cancel", "--workdir", str(work), "--no-sync", "--dry-run", "7602", "01_echo_pbt")
    assert (code, out) == (0, "Would cancel 01_echo_pbt (job 7601)\nWould cancel 02_echo_pbt (job 7602)\n")
    code, out, _ = invoke("cancel", "--workdir", str(work), "--no-sync", "--dry-run", "-t", "pd")
    assert (code, out) == (0, "Would cancel 02_echo_pbt (job 7602)\n")


def test_show_tells_one_experiments_whole_history(work: Path) -> None:
    code, out, _ = invoke("show", "--workdir", str(work), "--no-sync", "--policy", "1")
    assert code == 0
    out = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  PRINT_ONLY", "<time>  PRINT_ONLY", out)
    script = work / "sbatch_01_echo_pbt.sh"
    lines = out.splitlines()
    assert lines[0] == "01_echo_pbt  run echo_pbt  launch 1  backend slurm"
    assert lines[2:] == [
        "PBT policy 1: no workspace found yet",
        "",
        "attempt 1  job 7601  FAILED  exit 0:9  node node-b",
        "  submitted 2026-11-29T10:00:01Z  started 2026-11-29T10:00:06Z  ended 2026-11-29T10:30:06Z",
        f"  script  {script}",
        f"  sbatch  sbatch --job-name=01_echo_pbt --gres=gpu:1 -c 16 --parsable --output {script}-slurm-%j.out {script}",
        f"  log     {script}-slurm-7601.out",
        "  states",
        "    <time>  PRINT_ONLY",
    ]


def test_show_names_a_pending_reason_and_refuses_an_unknown_name(work: Path) -> None:
    _, out, _ = invoke("show", "02_echo_pbt", "--workdir", str(work), "--no-sync")
    assert "attempt 1  job 7602  PENDING  exit -  node -\n  pending reason  Resources\n" in out
    code, _, err = invoke("show", "nope", "--workdir", str(work), "--no-sync")
    assert (code, err) == (1, "Error: no experiment named nope in this workdir; "
                              "`pbt-track report` lists the experiments\n")
    code, _, err = invoke("show", "--workdir", str(work))
    assert (code, err) == (2, "Error: name one experiment: NAME or --policy N (see `pbt-track show --help`)\n")


def test_logs_prints_the_latest_attempts_log_or_says_why_there_is_none(work: Path) -> None:
    (work / "sbatch_00_echo_pbt.sh-slurm-7600.out").write_text("one\ntwo\nthree\n")
    code, out, _ = invoke("logs", "00_echo_pbt", "--workdir", str(work), "--no-sync", "-n", "2")
    assert (code, out) == (0, "two\nthree\n")
    code, out, _ = invoke("logs", "--policy", "0", "--workdir", str(work), "--no-sync")
    assert (code, out) == (0, "one\ntwo\nthree\n")
    code, _, err = invoke("logs", "--policy", "2", "--workdir", str(work), "--no-sync")
    assert (code, err) == (1, f"Error: 02_echo_pbt attempt 1 (job 7602, PENDING) has no log yet at "
                              f"{work}/sbatch_02_echo_pbt.sh-slurm-7602.out; -f waits for it\n")
    code, _, err = invoke("logs", "00_echo_pbt", "--attempt", "3", "--workdir", str(work), "--no-sync")
    assert (code, err) == (1, "Error: 00_echo_pbt has no attempt 3 (it has 1 to 1); leave --attempt out for the latest\n")


def test_read_commands_leave_an_empty_database_as_it_was(in_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "pbt_tracker.db").write_bytes(b"")
    for argv in (["report"], ["report", "--no-sync"], ["show", "x"], ["logs", "x"]):
        code, _, err = invoke(*argv, "--workdir", str(tmp_path))
        assert (code, err) == (1, f"Error: {tmp_path}/pbt_tracker.db is empty (0 bytes), and pbt-track never leaves "
                                  "an empty database: it was cut short or replaced; restore it from a backup, or "
                                  "remove it to start a new record\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pbt_tracker.db"]
    assert (tmp_path / "pbt_tracker.db").read_bytes() == b""


def test_a_report_that_needs_no_sync_leaves_the_database_byte_for_byte(work: Path) -> None:
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE submissions SET state='COMPLETED'")
    connection.close()
    before = sorted((path.name, path.read_bytes()) for path in work.iterdir())
    for argv in (["report"], ["show", "00_echo_pbt"], ["report", "--format", "json"]):
        assert invoke(*argv, "--workdir", str(work))[0] == 0
    assert sorted((path.name, path.read_bytes()) for path in work.iterdir()) == before


def complete(words: str, tmp_cwd: Path) -> list[str]:
    result = CliRunner().invoke(cli, [], prog_name="pbt-track", env={
        "_PBT_TRACK_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1),
    })
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_completion_offers_states_names_and_job_ids_from_the_record(work: Path) -> None:
    assert complete(f"pbt-track report --workdir {work} -t P", work) == [
        "PENDING", "PREEMPTED", "PRINT_ONLY", "PD", "PR"
    ]
    assert complete(f"pbt-track report --workdir {work} -t F,C", work)[:3] == ["F,CANCELLED", "F,COMPLETED", "F,COMPLETING"]
    assert complete(f"pbt-track show --workdir {work} 01", work) == ["01_echo_pbt"]
    assert complete(f"pbt-track cancel --workdir {work} 760", work) == ["7600", "7601", "7602"]
    assert complete("pbt-track resub", work) == ["resubmit-failed"]


def test_completion_in_a_workdir_without_a_database_offers_nothing_and_creates_nothing(tmp_path: Path) -> None:
    assert complete(f"pbt-track show --workdir {tmp_path} 0", tmp_path) == []
    assert list(tmp_path.iterdir()) == []
