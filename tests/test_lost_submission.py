"""An sbatch whose answer was lost is settled by its identity, never by silence; a hung controller is waited for once.

The scheduler is stand-in programs on PATH: sbatch answering "Socket timed out"
for the second of three jobs (as if the controller had queued it as job 7765
and the answer was lost), squeue listing the other two, and sacct answering as
a cluster with or without accounting would. A one-node Slurm cannot lose an
answer on request, nor stop its accounting for one test.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import query

LISTING = "#!/bin/sh\nfor id in 7764 7766; do echo \"$id|PENDING|0||N/A|N/A|N/A|||Priority||\"; done\n"
NO_ACCOUNTING = "#!/bin/sh\necho 'sacct: error: Slurm accounting storage is disabled' >&2\nexit 1\n"


def states_of(work: Path) -> list[tuple[str, str | None]]:
    return query(work / "pbt_tracker.db", "SELECT state, job_id FROM submissions ORDER BY id")


def sacct_line(job_id: str, name: str) -> str:
    return f"{job_id}|PENDING|0:0|None assigned|Unknown|Unknown|2026-12-07T11:50:00|Priority|{name}|"


def launch_with_the_second_sbatch_failing(tmp_path: Path, fake_bin, error: str):  # type: ignore[no-untyped-def]
    """Three experiments sent by a stand-in sbatch that answers jobs 7764 and 7766 and, for the second, `error`
    (each call's arguments in `sbatch-calls`); squeue lists them, sacct has no accounting. The workdir and the
    submit's result."""
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", f"""#!/bin/sh
echo "$@" >> {tmp_path / 'sbatch-calls'}
id=$(cat {counter}); echo $((id + 1)) > {counter}
if [ "$id" = 7765 ]; then echo "sbatch: error: Batch job submission failed: {error}" >&2; exit 1; fi
echo "$id"
""")
    fake_bin("squeue", LISTING)
    fake_bin("sacct", NO_ACCOUNTING)
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--pause_between", "0", "--train_dir", str(tmp_path / "t")])
    return work, result


@pytest.fixture
def lost(in_repo: Path, tmp_path: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    work, result = launch_with_the_second_sbatch_failing(tmp_path, fake_bin, "Socket timed out")
    assert result.exit_code == 1, result.output
    assert ("01_echo_pbt may have been submitted (sbatch exited with 1: sbatch: error: Batch job submission failed: "
            "Socket timed out); pbt-track will find out at the next sync") in result.stdout.splitlines()
    assert "were not submitted" not in result.stdout
    assert states_of(work) == [("SUBMITTED", "7764"), ("SUBMIT_UNCERTAIN", None), ("SUBMITTED", "7766")]
    # Half a minute later: within MinJobAge, and past the moment accounting takes to hear of a job.
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE submissions SET intended_at = datetime(intended_at, '-30 seconds')")
    connection.close()
    return work


def job_name_of_lost(work: Path) -> str:
    ((argv,),) = query(work / "pbt_tracker.db", "SELECT argv FROM submissions WHERE job_id IS NULL")
    (name,) = [arg.split("=", 1)[1] for arg in json.loads(argv) if arg.startswith("--job-name=")]
    return str(name)


def sbatch_calls(tmp_path: Path) -> int:
    return len((tmp_path / "sbatch-calls").read_text().splitlines())


def test_each_job_is_named_after_its_experiment_with_its_tags_mark(lost: Path, tmp_path: Path) -> None:
    calls = (tmp_path / "sbatch-calls").read_text().splitlines()
    uuid = query(lost / "pbt_tracker.db", "SELECT uuid FROM launches")[0][0]
    assert [call.split()[1] for call in calls] == [
        f"--job-name={name}.pbt-{uuid[:8]}-{number}"
        for number, name in enumerate(["00_echo_pbt", "01_echo_pbt", "02_echo_pbt"], start=1)
    ]


def test_without_accounting_a_listing_of_other_jobs_does_not_settle_it(lost: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", "--workdir", str(lost)])

    assert result.exit_code == 0, result.output
    assert states_of(lost)[1] == ("SUBMIT_UNCERTAIN", None)
    assert ("sacct is not available (sacct: error: Slurm accounting storage is disabled): 1 submission(s) whose "
            "sbatch answer was lost stay SUBMIT_UNCERTAIN until squeue lists their job; `pbt-track resubmit-failed "
            "--include-uncertain` sends them again") in result.output


def test_resubmit_failed_leaves_an_uncertain_submission_unless_told(lost: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(lost)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == [
        "Left 01_echo_pbt: may have been submitted (SUBMIT_UNCERTAIN, no answer has settled it); check squeue and "
        "sacct, then pass --include-uncertain to send again.",
        "Nothing to resubmit: no experiment's latest attempt failed.",
    ]
    assert sbatch_calls(tmp_path) == 3

    told = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(lost), "--include-uncertain"])

    assert told.exit_code == 0, told.output
    assert sbatch_calls(tmp_path) == 4
    assert states_of(lost)[-1] == ("SUBMITTED", "7767")


def test_sacct_finds_the_job_by_its_name(lost: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """A cluster that keeps no comment in accounting: only the name carries the tag there."""
    name = job_name_of_lost(lost)
    fake_bin("sacct", f"#!/bin/sh\necho '{sacct_line('7764', '00_echo_pbt.x')}'\necho '{sacct_line('7765', name)}'\n")

    result = CliRunner().invoke(cli, ["sync", "--workdir", str(lost)])

    assert result.exit_code == 0, result.output
    assert states_of(lost)[1] == ("PENDING", "7765")
    history = query(lost / "pbt_tracker.db", "SELECT state, detail FROM state_changes WHERE submission_id = 2 "
                    "ORDER BY id")
    assert history[-2][0] == "SUBMITTED"
    assert history[-2][1].startswith("found in sacct by its tag pbt-track:")


def test_sacct_proves_the_job_never_existed_when_it_lists_the_records_jobs_and_not_it(lost: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    fake_bin("sacct", f"#!/bin/sh\necho '{sacct_line('7764', 'a')}'\necho '{sacct_line('7766', 'b')}'\n")

    result = CliRunner().invoke(cli, ["sync", "--workdir", str(lost)])

    assert result.exit_code == 0, result.output
    assert states_of(lost)[1] == ("SUBMIT_FAILED", None)


@pytest.mark.parametrize("answer", ["", "9001|COMPLETED|0:0|vm|||2026-12-07T11:50:00||someone_else|"])
def test_a_sacct_answer_that_lists_none_of_the_records_jobs_proves_nothing(lost: Path, fake_bin, answer: str) -> None:  # type: ignore[no-untyped-def]
    fake_bin("sacct", f"#!/bin/sh\necho '{answer}'\n")

    result = CliRunner().invoke(cli, ["sync", "--workdir", str(lost)])

    assert result.exit_code == 0, result.output
    assert states_of(lost)[1] == ("SUBMIT_UNCERTAIN", None)


@pytest.mark.slow  # three seconds of waiting on stand-ins that hang: kept out of the quick tier
def test_report_waits_one_time_out_in_all_when_squeue_and_scontrol_both_hang(lost: Path, fake_bin,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("squeue", "scontrol", "sacct"):
        fake_bin(name, "#!/bin/sh\nexec sleep 60\n")
    monkeypatch.setenv("PBT_TRACK_SCHEDULER_TIMEOUT", "3")

    started = time.monotonic()
    result = CliRunner().invoke(cli, ["report", "--workdir", str(lost)])
    took = time.monotonic() - started

    assert result.exit_code == 0, result.output
    assert 3 <= took < 5.5  # each call had its own 3 s before: 6 s at least
    assert ("squeue did not answer within 3 s; the controller may be busy (raise PBT_TRACK_SCHEDULER_TIMEOUT to "
            "wait longer), and then scontrol was not asked: the calls before it took all of the 3 s time-out") in (
        result.stderr)


@pytest.fixture
def refused(in_repo: Path, tmp_path: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    """Stand-in sbatch that refuses the second job in the words of a controller that then queued it all the same."""
    work, result = launch_with_the_second_sbatch_failing(tmp_path, fake_bin, "Invalid account")
    assert result.exit_code == 1, result.output
    assert states_of(work) == [("SUBMITTED", "7764"), ("SUBMIT_FAILED", None), ("SUBMITTED", "7766")]
    return work


def test_a_refused_job_that_squeue_lists_by_its_tag_is_submitted_after_all(refused: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    ((argv,),) = query(refused / "pbt_tracker.db", "SELECT argv FROM submissions WHERE job_id IS NULL")
    (tag,) = [arg.split("=", 1)[1] for arg in json.loads(argv) if arg.startswith("--comment=")]
    fake_bin("squeue", "#!/bin/sh\nfor id in 7764 7766; do echo \"$id|PENDING|0||N/A|N/A|N/A|||Priority||\"; done\n"
                       f"echo '7765|PENDING|0||N/A|N/A|N/A|||Priority|debug|1:00|{tag}'\n")

    result = CliRunner().invoke(cli, ["sync", "--workdir", str(refused)])

    assert result.exit_code == 0, result.output
    assert states_of(refused)[1] == ("PENDING", "7765")
    [(detail,)] = query(refused / "pbt_tracker.db", "SELECT detail FROM state_changes WHERE submission_id = 2 "
                        "AND state = 'SUBMITTED'")
    assert detail.endswith("though sbatch answered a refusal: the controller had queued it")


def test_a_refusal_no_listing_contradicts_stands_and_is_looked_for_no_longer_once_resubmitted(  # type: ignore[no-untyped-def]
        refused: Path, fake_bin) -> None:
    assert CliRunner().invoke(cli, ["sync", "--workdir", str(refused)]).exit_code == 0
    assert states_of(refused)[1] == ("SUBMIT_FAILED", None)
