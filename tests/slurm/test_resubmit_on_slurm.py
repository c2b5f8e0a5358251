"""resubmit-failed and scripts on disk: rewritten when gone, refused when changed, recorded when accepted.

The failures are real: Slurm refuses jobs that ask for more CPUs than the node has.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, file_digest, query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def pbt_track(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBT_TRACK, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture
def refused(tmp_path: Path) -> Path:
    work = tmp_path / "w"
    done = pbt_track("submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
                     "--slurm_cpus_per_gpu", "64", "--pause_between", "0", "--train_dir", str(tmp_path / "t"))
    assert done.returncode == 1
    assert query(work / "pbt_tracker.db", "SELECT DISTINCT state FROM submissions") == [("SUBMIT_FAILED",)]
    return work


def test_a_script_changed_on_disk_is_refused_and_nothing_is_submitted(refused: Path) -> None:
    (refused / "sbatch_01_echo_pbt.sh").write_text("#!/bin/bash\necho edited by hand\n")
    before = file_digest(refused / "pbt_tracker.db")
    done = pbt_track("resubmit-failed", "--workdir", str(refused))
    assert done.returncode == 1
    assert done.stderr == (
        f"Error: 1 script(s) changed on disk since they were recorded: {refused}/sbatch_01_echo_pbt.sh; "
        "restore them, or pass --accept-changed to submit them as they are now\n"
    )
    assert file_digest(refused / "pbt_tracker.db") == before


def test_accept_changed_records_the_new_text_and_missing_scripts_are_rewritten(refused: Path) -> None:
    edited = "#!/bin/bash\necho edited by hand\n"
    (refused / "sbatch_01_echo_pbt.sh").write_text(edited)
    original = (refused / "sbatch_02_echo_pbt.sh").read_text()
    (refused / "sbatch_02_echo_pbt.sh").unlink()

    done = pbt_track("resubmit-failed", "--workdir", str(refused), "--accept-changed")
    assert done.returncode == 1  # Slurm refuses them again: same options
    assert f"Rewrote {refused}/sbatch_02_echo_pbt.sh from the record." in done.stdout.splitlines()
    assert done.stderr == (
        "Error: 3 of 3 resubmissions failed; see above; `pbt-track resubmit-failed --slurm_cpus_per_gpu N` sends them "
        "again, asking for what sbatch accepts (`sinfo -o '%P %c %G %l'` lists partitions, CPUs, GPUs and time limits)\n")
    assert (refused / "sbatch_02_echo_pbt.sh").read_text() == original

    db = refused / "pbt_tracker.db"
    assert query(db, "SELECT e.name, s.attempt, s.state, sc.text FROM submissions s "
                     "JOIN experiments e ON e.id = s.experiment_id JOIN scripts sc ON sc.id = s.script_id "
                     "WHERE s.attempt = 2 AND e.name = '01_echo_pbt'") == [("01_echo_pbt", 2, "SUBMIT_FAILED", edited)]
    assert query(db, "SELECT count(*) FROM scripts") == [(4,)]
    assert "More processors requested than permitted" in query(
        db, "SELECT submit_stderr FROM submissions WHERE attempt = 2 LIMIT 1")[0][0]


def test_max_attempts_stops_resubmitting(refused: Path) -> None:
    assert pbt_track("resubmit-failed", "--workdir", str(refused)).returncode == 1
    done = pbt_track("resubmit-failed", "--workdir", str(refused), "--max-attempts", "2", "--experiment", "00_echo_pbt")
    assert (done.returncode, done.stdout) == (
        0, "Left 00_echo_pbt: it already had 2 attempt(s).\nNothing to resubmit: no experiment's latest attempt failed.\n"
    )
    dry = pbt_track("resubmit-failed", "--workdir", str(refused), "--dry-run", "--max-attempts", "3")
    assert dry.stdout.splitlines() == [
        "Would resubmit 00_echo_pbt as attempt 3",
        "Would resubmit 01_echo_pbt as attempt 3",
        "Would resubmit 02_echo_pbt as attempt 3",
    ]
    assert query(refused / "pbt_tracker.db", "SELECT max(attempt), count(*) FROM submissions") == [(2, 6)]
