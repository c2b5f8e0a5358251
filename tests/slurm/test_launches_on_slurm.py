"""Two launches of the same experiment names in one workdir, on the real Slurm: a second launch into the same
directories is refused while the first may run; into new ones (--experiment_suffix) each job runs its own
launch's script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import query
from tests.slurm.conftest import wait_for_state
from tests.slurm.test_tracking_on_slurm import pbt_track


def held_template(path: Path, launch: str) -> Path:
    path.write_text(f"#!/bin/bash\n#SBATCH --hold\n#SBATCH --job-name=pbt-track-held\necho 'run by launch {launch}'\n$CMD\n")
    return path


def launch(tmp_path: Path, work: Path, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return pbt_track("submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--slurm_workdir", str(work),
                     "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "train"),
                     "--slurm_sbatch_template", str(held_template(tmp_path / f"{name}.sh", name)), *extra,
                     workdir=work)


def job_ids(work: Path, launch_id: int) -> dict[str, str]:
    return dict(query(work / "pbt_tracker.db", "SELECT e.name, s.job_id FROM submissions s JOIN experiments e "
                      "ON e.id = s.experiment_id WHERE e.launch_id = ? ORDER BY s.id", launch_id))


@pytest.mark.slurm
@pytest.mark.parametrize("mode", [[], ["--slurm-array"]], ids=["jobs", "arrays"])
def test_a_held_job_of_the_first_launch_released_after_the_second_runs_the_first_launchs_script(
    tmp_path: Path, mode: list[str]
) -> None:
    work = tmp_path / "logs"
    try:
        first = launch(tmp_path, work, "A", *mode)
        assert first.returncode == 0, first.stdout + first.stderr
        a = job_ids(work, 1)
        refused = launch(tmp_path, work, "B", *mode)
        assert (refused.returncode, refused.stderr) == (1, (
            f"Error: 3 experiment(s) of this run may still run in this workdir (00_echo_pbt as job {a['00_echo_pbt']} "
            f"of launch 1, 01_echo_pbt as job {a['01_echo_pbt']} of launch 1, 02_echo_pbt as job {a['02_echo_pbt']} "
            "of launch 1); cancel them first (`pbt-track cancel --launch 1`), send only their failed ones again "
            "(`pbt-track resubmit-failed --launch 1`), or launch them into new directories with --experiment_suffix\n"
        ))
        second = launch(tmp_path, work, "B", *mode, "--experiment_suffix", "b")
        assert second.returncode == 0, second.stdout + second.stderr
        a, b = job_ids(work, 1), job_ids(work, 2)
        assert len(a) == len(b) == 3

        subprocess.run(["scontrol", "release", a["01_echo_pbt"]], check=True, capture_output=True)
        wait_for_state(a["01_echo_pbt"], {"COMPLETED"})
        log = work / f"sbatch_01_echo_pbt.sh-slurm-{a['01_echo_pbt']}.out"
        assert log.read_text().startswith("run by launch A\npolicy args: ")
        assert (work / "sbatch_01_echo_pbt.L2.sh").read_text().startswith("#!/bin/bash\n#SBATCH --hold\n")

        report = pbt_track("report", "--format", "csv", workdir=work)
        assert [line.split(",")[1:5] for line in report.stdout.splitlines()[1:]] == [
            [name, "1", b[name], "PENDING"] for name in ("00_echo_pbt", "01_echo_pbt", "02_echo_pbt")
        ]
        older = pbt_track("report", "--launch", "1", "--format", "csv", "--experiment", "01_echo_pbt", workdir=work)
        assert older.stdout.splitlines()[1].split(",")[1:5] == ["01_echo_pbt", "1", a["01_echo_pbt"], "COMPLETED"]
    finally:
        held = [job_id for (job_id,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions "
                                              "WHERE job_id IS NOT NULL")] if (work / "pbt_tracker.db").exists() else []
        if held:
            subprocess.run(["scancel", *held], capture_output=True)
