"""pbt-track continue: a job asks for its own continuation, recorded as the next attempt before sbatch runs.

sbatch is a stand-in that hands out job ids 100, 101, ... and writes down its
arguments, so these tests need no cluster (tests/slurm/test_population_on_slurm.py
runs the shipped template that calls `continue` on the real one).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import query
from tests.test_resume import write_iteration

SBATCH_COUNTS = (
    "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$0.calls\"\n"
    "n=$(cat \"$0.next\" 2>/dev/null || echo 100)\necho $((n + 1)) > \"$0.next\"\necho $n\n"
)


@pytest.fixture
def launched(tmp_path: Path, in_repo: Path, fake_bin) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """Two PBT policies sent as jobs 100 and 101."""
    sbatch = fake_bin("sbatch", SBATCH_COUNTS)
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_workspace_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
                                      "--pause_between", "0"])
    assert result.exit_code == 0, result.output
    return work, sbatch


def continue_job(work: Path, job: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["continue", "--workdir", str(work), "--job", job])


def test_a_job_continues_its_policy_from_the_latest_checkpoint_as_the_next_attempt(launched: tuple[Path, Path]) -> None:
    work, sbatch = launched
    db = work / "pbt_tracker.db"
    [(cmd,)] = query(db, "SELECT cmd FROM experiments WHERE name = '01_ws_pbt'")
    run_dir = Path(shlex.split(cmd)[-1].partition("=")[2])
    write_iteration(run_dir / "runs" / "ws" / "001", 5, "ws_pbt_life1")

    result = continue_job(work, "101")

    checkpoint = run_dir / "runs" / "ws" / "001" / "000005.pth"
    new_script = work / "continuations" / "sbatch_01_ws_pbt.2.sh"
    assert (result.exit_code, result.output.splitlines()) == (0, [
        f"01_ws_pbt: continues policy 1 from iteration 5 (checkpoint {checkpoint})",
        "Submitted 01_ws_pbt as job 102",
    ])
    assert query(db, "SELECT s.attempt, s.origin, s.state, s.job_id, p.job_id, sc.path FROM submissions s "
                     "JOIN submissions p ON p.id = s.parent_submission_id JOIN scripts sc ON sc.id = s.script_id "
                     "WHERE s.attempt = 2") == [(2, "continue", "SUBMITTED", "102", "101", str(new_script))]
    assert f"checkpoint={checkpoint}" in new_script.read_text()
    assert Path(f"{sbatch}.calls").read_text().splitlines()[-1] == str(new_script)
    assert "102" in (work / "scancel.sh").read_text()


def test_a_job_that_asks_twice_is_told_the_attempt_it_already_has(launched: tuple[Path, Path]) -> None:
    work, sbatch = launched
    assert continue_job(work, "100").exit_code == 0
    calls = Path(f"{sbatch}.calls").read_text()

    again = continue_job(work, "100")

    assert (again.exit_code, again.output) == (0, "00_ws_pbt: job 100 already continued as attempt 2 (job 102)\n")
    assert Path(f"{sbatch}.calls").read_text() == calls
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(3,)]


def test_an_unknown_job_is_refused_and_nothing_is_written(launched: tuple[Path, Path]) -> None:
    work, sbatch = launched
    calls = Path(f"{sbatch}.calls").read_text()

    result = continue_job(work, "999")

    assert (result.exit_code, result.output) == (
        1, "Error: job 999 was not submitted from this workdir; give the --workdir whose record holds it\n")
    assert Path(f"{sbatch}.calls").read_text() == calls
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(2,)]
