"""resubmit-failed and the keeper's resumes with other resources, after sbatch refused what the launch asked for.

The refusals are real: the node has 8 CPUs, and Slurm refuses a job that asks for 16, or a partition it lacks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, query
from tests.slurm.conftest import wait_for_state

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def pbt_track(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBT_TRACK, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def attempt(db: Path, name: str, number: int) -> tuple[str, str | None, list[str], str | None, str]:
    (state, job_id, argv, options, origin), = query(
        db, "SELECT s.state, s.job_id, s.argv, s.options, s.origin FROM submissions s "
            "JOIN experiments e ON e.id = s.experiment_id WHERE e.name = ? AND s.attempt = ?", name, number)
    return state, job_id, json.loads(argv), options, origin


@pytest.fixture
def refused(tmp_path: Path) -> Path:
    work = tmp_path / "w"
    done = pbt_track("submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
                     "--slurm_cpus_per_gpu", "16", "--pause_between", "0", "--train_dir", str(tmp_path / "t"))
    assert done.returncode == 1
    assert ("3 of 3 experiments were not submitted. `pbt-track resubmit-failed --slurm_cpus_per_gpu N` sends them "
            "again, asking for what sbatch accepts (`sinfo -o '%P %c %G %l'` lists partitions, CPUs, GPUs and time "
            "limits).") in done.stdout.splitlines()
    return work


def test_resubmit_failed_with_fewer_cpus_succeeds_and_records_what_it_changed(refused: Path) -> None:
    db = refused / "pbt_tracker.db"
    done = pbt_track("resubmit-failed", "--workdir", str(refused), "--experiment", "00_echo_pbt",
                     "--slurm_cpus_per_gpu", "2", "--slurm_partition", "debug")
    assert done.returncode == 0, done.stderr
    state, job_id, argv, options, origin = attempt(db, "00_echo_pbt", 2)
    assert job_id is not None and origin == "resubmit"
    assert json.loads(options or "{}") == {"slurm_cpus_per_gpu": 2, "slurm_partition": "debug"}
    assert argv[argv.index("-c") + 1] == "2" and argv[argv.index("-p") + 1] == "debug"
    info = wait_for_state(job_id, {"COMPLETED"})
    assert (info["NumCPUs"], info["Partition"]) == ("2", "debug")
    assert attempt(db, "00_echo_pbt", 1)[3] is None  # the launch's own attempt changed nothing


def test_the_keeper_resumes_with_the_resources_watch_is_given(refused: Path) -> None:
    db = refused / "pbt_tracker.db"
    done = pbt_track("watch", "--workdir", str(refused), "--once", "--experiment", "01_echo_pbt",
                     "--slurm_cpus_per_gpu", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    state, job_id, argv, options, origin = attempt(db, "01_echo_pbt", 2)
    assert (origin, json.loads(options or "{}")) == ("keeper", {"slurm_cpus_per_gpu": 1})
    assert job_id is not None
    assert wait_for_state(job_id, {"COMPLETED"})["NumCPUs"] == "1"


def test_a_partition_sbatch_refuses_gets_a_hint_naming_the_partition_option(refused: Path) -> None:
    done = pbt_track("resubmit-failed", "--workdir", str(refused), "--experiment", "02_echo_pbt",
                     "--slurm_cpus_per_gpu", "1", "--slurm_partition", "nosuchpartition")
    assert done.returncode == 1
    assert done.stderr == (
        "Error: 1 of 1 resubmissions failed; see above; `pbt-track resubmit-failed --slurm_partition NAME` sends "
        "them again, asking for what sbatch accepts (`sinfo -o '%P %c %G %l'` lists partitions, CPUs, GPUs and time "
        "limits)\n")
    assert attempt(refused / "pbt_tracker.db", "02_echo_pbt", 2)[0] == "SUBMIT_FAILED"
    # The next attempt keeps what the last one changed (1 CPU), and changes only what it is given now.
    again = pbt_track("resubmit-failed", "--workdir", str(refused), "--experiment", "02_echo_pbt",
                      "--slurm_partition", "debug")
    assert again.returncode == 0, again.stderr
    state, job_id, argv, options, origin = attempt(refused / "pbt_tracker.db", "02_echo_pbt", 3)
    assert json.loads(options or "{}") == {"slurm_cpus_per_gpu": 1, "slurm_partition": "debug"}
    assert job_id is not None
    assert wait_for_state(job_id, {"COMPLETED"})["NumCPUs"] == "1"
