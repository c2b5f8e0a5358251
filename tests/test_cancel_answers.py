"""`cancel` believes scancel job by job, and checks what it was asked before touching the record.

The scheduler here is stand-in programs on PATH (sbatch, squeue, scancel): a
one-node Slurm cannot be made to refuse one job of a scancel call, nor to
fail scancel as a whole, on demand.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.backends.slurm.scancel_answer import ScancelAnswer, read_scancel_answer
from pbt_tracker.cli import cli
from tests.conftest import file_digest, query

PBT = "tests.fixtures.pbt_echo"

# Answers every job it is asked about (or, listing a user's jobs, the three of the fixture) as RUNNING,
# and counts its calls.
SQUEUE_ALL_RUNNING = """#!/bin/sh
echo x >> "$(dirname "$0")/squeue-calls"
for arg; do case "$arg" in --jobs=*) ids="${arg#--jobs=}";; --user=*) user=1;; esac; done
if [ -n "$user" ]; then
    for id in 7764 7765 7766; do echo "$id|RUNNING|0|node1|N/A|N/A|N/A|||None||"; done
    exit 0
fi
IFS=,
for id in $ids; do echo "$id|RUNNING|0|node1|N/A|N/A|N/A|None||"; done
"""


@pytest.fixture
def running(in_repo: Path, tmp_path: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    """Three experiments queued as jobs 7764, 7765 and 7766, which squeue shows RUNNING."""
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"\n')
    fake_bin("squeue", SQUEUE_ALL_RUNNING)
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                      "--pause_between", "0", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    return work


def _requested(work: Path) -> list[tuple[str, bool]]:
    rows = query(work / "pbt_tracker.db", "SELECT job_id, cancel_requested_at IS NOT NULL FROM submissions ORDER BY id")
    return [(job_id, bool(flag)) for job_id, flag in rows]


def test_a_job_scancel_refuses_is_reported_as_not_cancelled_and_is_not_marked(running: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    fake_bin("scancel", "#!/bin/sh\n"
             'echo "scancel: error: Kill job error on job id 7765: Invalid job id specified" >&2\nexit 1\n')
    result = CliRunner().invoke(cli, ["cancel", "--all", "--workdir", str(running)])

    assert result.exit_code == 1
    assert result.stdout == (
        "Cancelled 00_echo_pbt (job 7764)\n"
        "Not cancelled 01_echo_pbt (job 7765): scancel said: Invalid job id specified\n"
        "Cancelled 02_echo_pbt (job 7766)\n"
    )
    assert result.stderr == (
        "Error: scancel refused 1 of 3 job(s), listed above; their states were left as they were: "
        "run `pbt-track sync` to see where they stand\n"
    )
    assert _requested(running) == [("7764", True), ("7765", False), ("7766", True)]
    assert query(running / "pbt_tracker.db", "SELECT job_ids, argv, returncode FROM cancellations") == [
        ('["7764", "7765", "7766"]', '["scancel", "7764", "7765", "7766"]', 1)
    ]


def test_a_scancel_that_fails_as_a_whole_marks_no_job(running: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    fake_bin("scancel", "#!/bin/sh\n"
             'echo "scancel: error: Unable to contact slurm controller (connect failure)" >&2\nexit 1\n')
    result = CliRunner().invoke(cli, ["cancel", "--experiment", "00_echo_pbt", "--workdir", str(running)])

    assert result.exit_code == 1
    assert result.stdout == (
        "Not cancelled 00_echo_pbt (job 7764): scancel said: "
        "scancel: error: Unable to contact slurm controller (connect failure)\n"
    )
    assert _requested(running) == [("7764", False), ("7765", False), ("7766", False)]
    # The request itself stays on record, with scancel's answer.
    assert query(running / "pbt_tracker.db", "SELECT returncode, completed_at IS NOT NULL FROM cancellations") == [
        (1, 1)
    ]


def test_jobs_scancel_accepts_are_cancelled_and_marked(running: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    fake_bin("scancel", "#!/bin/sh\nexit 0\n")
    result = CliRunner().invoke(cli, ["cancel", "--experiment", "01_echo_pbt", "--workdir", str(running)])

    assert (result.exit_code, result.stdout) == (0, "Cancelled 01_echo_pbt (job 7765)\n")
    assert _requested(running) == [("7764", False), ("7765", True), ("7766", False)]


def test_cancel_without_a_selection_says_so_before_asking_the_scheduler_or_writing(running: Path) -> None:
    calls = running.parent / "fake-bin" / "squeue-calls"
    calls.unlink(missing_ok=True)
    before = file_digest(running / "pbt_tracker.db"), file_digest(running / "pbt_tracker.db-wal")
    result = CliRunner().invoke(cli, ["cancel", "--workdir", str(running)])

    assert result.exit_code == 1
    assert result.stderr == "Error: say what to cancel: --experiment NAME, --run NAME, --job ID, --state STATE, or --all\n"
    assert not calls.exists()
    assert (file_digest(running / "pbt_tracker.db"), file_digest(running / "pbt_tracker.db-wal")) == before


def test_cancel_without_a_selection_in_a_workdir_without_a_record_names_the_missing_selection(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cancel", "--workdir", str(tmp_path)])
    assert result.stderr.startswith("Error: say what to cancel")


# --- reading scancel's answer ----------------------------------------------------------------


def test_scancel_silent_and_zero_accepted_every_job() -> None:
    assert read_scancel_answer(["1", "2"], 0, "") == ScancelAnswer(["1", "2"], {})


def test_each_job_named_in_an_error_line_is_refused_with_its_reason() -> None:
    stderr = (
        "scancel: error: Kill job error on job id 4242_3: Job/step already completing or completed\n"
        "scancel: error: Kill job error on job id 17: Access/permission denied\n"
    )
    assert read_scancel_answer(["4242_3", "17", "18"], 1, stderr) == ScancelAnswer(
        ["18"], {"4242_3": "Job/step already completing or completed", "17": "Access/permission denied"}
    )


def test_an_error_naming_a_job_it_was_not_given_proves_nothing_about_the_others() -> None:
    stderr = "scancel: error: Kill job error on job id 99: Invalid job id specified\n"
    assert read_scancel_answer(["1"], 1, stderr) == ScancelAnswer([], {"1": "scancel: error: Kill job error on job id 99: Invalid job id specified"})


def test_a_failure_that_names_no_job_refuses_them_all() -> None:
    stderr = "scancel: error: Access/permission denied\n"
    assert read_scancel_answer(["1", "2"], 1, stderr) == ScancelAnswer([], {"1": stderr.strip(), "2": stderr.strip()})


# --- what cancel asks the scheduler -------------------------------------------------------------

COUNTING = '#!/bin/sh\necho "$(basename "$0")" >> "$(dirname "$0")/calls"\n'


def test_cancel_asks_nothing_before_scancel_and_one_squeue_after_it(running: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """squeue here still lists the cancelled job as RUNNING, as Slurm does while a job is being killed."""
    fake_bin("scancel", COUNTING + "exit 0\n")
    fake_bin("sacct", COUNTING + "exit 0\n")
    calls = running.parent / "fake-bin" / "squeue-calls"
    calls.unlink(missing_ok=True)
    (running.parent / "fake-bin" / "calls").unlink(missing_ok=True)

    result = CliRunner().invoke(cli, ["cancel", "--experiment", "01_echo_pbt", "--workdir", str(running)])

    assert (result.exit_code, result.stdout) == (0, "Cancelled 01_echo_pbt (job 7765)\n")
    assert (running.parent / "fake-bin" / "calls").read_text() == "scancel\n"
    assert calls.read_text() == "x\n"
    assert query(running / "pbt_tracker.db", "SELECT job_id, state FROM submissions ORDER BY id") == [
        ("7764", "SUBMITTED"), ("7765", "RUNNING"), ("7766", "SUBMITTED")
    ]


def test_a_job_squeue_no_longer_lists_after_scancel_gets_its_end_from_sacct(running: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """Stand-ins: a job that ended long before the cancel (squeue has forgotten it, sacct has not)."""
    fake_bin("scancel", "#!/bin/sh\nexit 0\n")
    fake_bin("squeue", "#!/bin/sh\nexit 0\n")
    fake_bin("sacct", "#!/bin/sh\necho '7765|COMPLETED|0:0|node1|Unknown|Unknown|Unknown||'\n")

    result = CliRunner().invoke(cli, ["cancel", "--experiment", "01_echo_pbt", "--workdir", str(running)])

    assert (result.exit_code, result.stdout) == (0, "Cancelled 01_echo_pbt (job 7765)\n")
    assert query(running / "pbt_tracker.db", "SELECT state, exit_code FROM submissions WHERE job_id = '7765'") == [
        ("COMPLETED", 0)
    ]


def test_scancels_exit_0_and_silence_after_it_do_not_make_a_job_cancelled(running: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """Stand-ins: scancel exits 0 (whether or not it cancelled), then squeue and sacct answer nothing at all."""
    fake_bin("scancel", "#!/bin/sh\nexit 0\n")
    fake_bin("squeue", "#!/bin/sh\nexit 0\n")
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")

    result = CliRunner().invoke(cli, ["cancel", "--experiment", "01_echo_pbt", "--workdir", str(running)])

    assert result.exit_code == 0, result.output
    assert query(running / "pbt_tracker.db", "SELECT state, cancel_requested_at IS NOT NULL FROM submissions "
                 "WHERE job_id = '7765'") == [("SUBMITTED", 1)]
    assert "7765" in (running / "scancel.sh").read_text()
    table = CliRunner().invoke(cli, ["report", "--workdir", str(running), "--no-sync", "-o", "job_id,state"])
    assert "7765    SUBMITTED (cancel requested)" in table.output



def test_sync_asks_squeue_about_the_tracked_ids_alone_not_every_job_of_the_user(running: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """Stand-in squeue that logs its arguments: a record with no lost answer and no successor-sending template."""
    log = running.parent / "squeue-argv"
    fake_bin("squeue", f'#!/bin/sh\necho "$@" >> {log}\n' + SQUEUE_ALL_RUNNING.split("\n", 1)[1])

    assert CliRunner().invoke(cli, ["sync", "--workdir", str(running)]).exit_code == 0

    [argv] = log.read_text().splitlines()
    assert "--jobs=7764,7765,7766" in argv.split()
    assert "--user" not in argv and "Command" not in argv and "STDOUT" not in argv
    assert query(running / "pbt_tracker.db", "SELECT DISTINCT state FROM submissions") == [("RUNNING",)]


def _array_of_three(tmp_path: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    """A launch of three experiments sent as array 4242 by a stand-in sbatch; its workdir."""
    fake_bin("sbatch", '#!/bin/sh\necho "4242"\n')
    work = tmp_path / "work"
    assert CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                    "--pause_between", "0", "--train_dir", str(tmp_path / "t"),
                                    "--slurm_array", "true"]).exit_code == 0
    return work


def _logged_scancel_and_squeue(tmp_path: Path, fake_bin, squeue_line: str = "") -> Path:  # type: ignore[no-untyped-def]
    """Stand-in scancel and squeue that log each call (scancel's arguments, squeue's --jobs) to the file returned;
    squeue answers `squeue_line`, if any."""
    calls = tmp_path / "calls"
    fake_bin("scancel", f'#!/bin/sh\necho "scancel $@" >> {calls}\n')
    fake_bin("squeue", f'#!/bin/sh\necho "squeue $3" >> {calls}\n' + (f"echo '{squeue_line}'\n" if squeue_line else ""))
    return calls


def test_cancel_of_every_task_of_an_array_names_the_array_and_asks_squeue_about_it(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """Stand-ins: an array of three tasks, which squeue lists as one record once they are cancelled."""
    work = _array_of_three(tmp_path, fake_bin)
    calls = _logged_scancel_and_squeue(tmp_path, fake_bin, "4242|CANCELLED|0||N/A|N/A|N/A|None||")

    result = CliRunner().invoke(cli, ["cancel", "--all", "--workdir", str(work)])

    assert result.exit_code == 0, result.output
    assert calls.read_text().splitlines() == ["scancel 4242", "squeue --jobs=4242"]
    assert query(work / "pbt_tracker.db", "SELECT job_id, state FROM submissions ORDER BY id") == [
        ("4242_0", "CANCELLED"), ("4242_1", "CANCELLED"), ("4242_2", "CANCELLED")]


def test_cancel_with_no_sync_asks_squeue_nothing_and_leaves_the_tasks_cancel_requested(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """Stand-ins: the listing a settling cancel starts as soon as scancel answers is not started without one."""
    work = _array_of_three(tmp_path, fake_bin)
    calls = _logged_scancel_and_squeue(tmp_path, fake_bin)

    result = CliRunner().invoke(cli, ["cancel", "--all", "--no-sync", "--workdir", str(work)])

    assert result.exit_code == 0, result.output
    assert calls.read_text().splitlines() == ["scancel 4242"]
    assert query(work / "pbt_tracker.db", "SELECT job_id, state, cancel_requested_at IS NOT NULL FROM submissions "
                                          "ORDER BY id") == [
        ("4242_0", "SUBMITTED", 1), ("4242_1", "SUBMITTED", 1), ("4242_2", "SUBMITTED", 1)]


def test_cancel_of_some_tasks_of_an_array_names_their_ranges(in_repo: Path, tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """Stand-ins: squeue no longer lists the tasks cancelled while pending, as Slurm does."""
    work = _array_of_three(tmp_path, fake_bin)
    calls = tmp_path / "calls"
    fake_bin("scancel", f'#!/bin/sh\necho "scancel $@" >> {calls}\n')
    fake_bin("squeue", "#!/bin/sh\necho '4242_1|PENDING|0||N/A|N/A|N/A|JobHeldUser||'\n")
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")

    result = CliRunner().invoke(cli, ["cancel", "4242_0", "4242_2", "--workdir", str(work)])

    assert result.exit_code == 0, result.output
    assert calls.read_text().splitlines() == ["scancel 4242_[0,2]"]
    assert query(work / "pbt_tracker.db", "SELECT job_id, state FROM submissions ORDER BY id") == [
        ("4242_0", "CANCELLED"), ("4242_1", "SUBMITTED"), ("4242_2", "CANCELLED")]
