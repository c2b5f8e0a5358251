"""On the real Slurm: a job resubmitted from another directory runs a relative command where its launch ran.

The shipped `submit_env` template does not `cd`; the experiment's command names its script by a relative path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbt_tracker.states import FINAL
from pbt_tracker.templates import template_path
from tests.conftest import query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
FLAKY = """import pathlib, sys
marker = pathlib.Path("ran-once")
if not marker.exists():
    marker.write_text("1")
    sys.exit(3)
print("second run, in", pathlib.Path.cwd())
"""


def pbt_track(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([PBT_TRACK, *argv], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def submit_flaky(project: Path, work: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A run of one experiment, `python flaky.py` (it fails the first time), written in `project` and launched
    from there with the submit_env template and `extra` options."""
    project.mkdir()
    (project / "flaky.py").write_text(FLAKY)
    (project / "run.py").write_text(
        "from pbt_tracker.run_description import Experiment, RunDescription\n"
        "RUN_DESCRIPTION = RunDescription('rel', experiments=[Experiment('flaky', 'python flaky.py', [{}])])\n")
    return pbt_track(project, "submit", "--run", "run.py", "--backend", "slurm", "--workdir", str(work),
                     "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t"),
                     "--slurm_sbatch_template", str(template_path("submit_env")), *extra)


def states(work: Path) -> list[tuple[int, str]]:
    return query(work / "pbt_tracker.db", "SELECT attempt, state FROM submissions ORDER BY id")


def wait_for(work: Path, wanted: list[tuple[int, str]], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert pbt_track(work, "sync", "--workdir", str(work)).returncode == 0
        now = states(work)
        if now == wanted:
            return
        if len(now) == len(wanted) and now[-1][1] in FINAL or time.monotonic() > deadline:
            raise AssertionError(f"states {states(work)} after {timeout} s, not {wanted}")
        time.sleep(1)


@pytest.mark.slurm
def test_a_job_resubmitted_from_elsewhere_runs_its_relative_command_in_the_launch_directory(tmp_path: Path) -> None:
    project, elsewhere, work = tmp_path / "project", tmp_path / "elsewhere", tmp_path / "logs"
    elsewhere.mkdir()
    try:
        launched = submit_flaky(project, work, tmp_path)
        assert launched.returncode == 0, launched.stdout + launched.stderr
        wait_for(work, [(1, "FAILED")])

        again = pbt_track(elsewhere, "resubmit-failed", "--workdir", str(work))

        assert again.returncode == 0, again.stdout + again.stderr
        wait_for(work, [(1, "FAILED"), (2, "COMPLETED")])
        [(log,)] = query(work / "pbt_tracker.db", "SELECT log_path FROM submissions WHERE attempt = 2")
        [(job_id,)] = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE attempt = 2")
        assert Path(log.replace("%j", job_id)).read_text().endswith(f"second run, in {project}\n")
    finally:
        ids = [job_id for (job_id,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions "
                                             "WHERE job_id IS NOT NULL")] if (work / "pbt_tracker.db").exists() else []
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True)


FLAKY_TOOL = """#!/bin/sh
if [ ! -e ran-once ]; then touch ran-once; exit 3; fi
echo "second run with VIRTUAL_ENV=${VIRTUAL_ENV:-none}"
"""


@pytest.mark.slurm
def test_a_job_resubmitted_from_another_shell_gets_its_launchs_path_and_virtualenv(tmp_path: Path) -> None:
    """The shipped submit_env template hands the job the environment sbatch ran in: the launch's, not the sender's."""
    from pbt_tracker.launch.environment import CHOICES

    project, elsewhere, work = tmp_path / "project", tmp_path / "elsewhere", tmp_path / "logs"
    (project / "bin").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "bin" / "flaky-tool").write_text(FLAKY_TOOL)
    (project / "bin" / "flaky-tool").chmod(0o755)
    (project / "run.py").write_text(
        "from pbt_tracker.run_description import Experiment, RunDescription\n"
        "RUN_DESCRIPTION = RunDescription('tools', experiments=[Experiment('flaky', 'flaky-tool', [{}])])\n")
    base = {name: value for name, value in os.environ.items() if name not in CHOICES}
    system_path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    launch_env = {**base, "PATH": f"{project / 'bin'}{os.pathsep}{system_path}", "VIRTUAL_ENV": str(project / "venv")}
    other_env = {**base, "PATH": system_path}

    def run(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PBT_TRACK, *argv], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)

    try:
        launched = run(project, launch_env, "submit", "--run", "run.py", "--backend", "slurm", "--workdir", str(work),
                       "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t"),
                       "--slurm_sbatch_template", str(template_path("submit_env")))
        assert launched.returncode == 0, launched.stdout + launched.stderr
        wait_for(work, [(1, "FAILED")])

        again = run(elsewhere, other_env, "resubmit-failed", "--workdir", str(work))

        assert again.returncode == 0, again.stdout + again.stderr
        wait_for(work, [(1, "FAILED"), (2, "COMPLETED")])
        [(log, job_id)] = query(work / "pbt_tracker.db", "SELECT log_path, job_id FROM submissions WHERE attempt = 2")
        assert Path(log.replace("%j", job_id)).read_text().endswith(f"second run with VIRTUAL_ENV={project / 'venv'}\n")
    finally:
        ids = [job_id for (job_id,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions "
                                             "WHERE job_id IS NOT NULL")] if (work / "pbt_tracker.db").exists() else []
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True)


@pytest.mark.slurm
def test_a_resubmission_of_a_group_readable_launch_keeps_its_files_readable_by_the_group(tmp_path: Path) -> None:
    import stat

    project, work = tmp_path / "project", tmp_path / "logs"
    try:
        launched = submit_flaky(project, work, tmp_path, "--group-readable")
        assert launched.returncode == 0, launched.stdout + launched.stderr
        wait_for(work, [(1, "FAILED")])

        again = pbt_track(project, "resubmit-failed", "--workdir", str(work))

        assert again.returncode == 0, again.stdout + again.stderr
        wait_for(work, [(1, "FAILED"), (2, "COMPLETED")])
        for attempt in (1, 2):
            [(log, job_id)] = query(work / "pbt_tracker.db",
                                    f"SELECT log_path, job_id FROM submissions WHERE attempt = {attempt}")
            assert stat.S_IMODE(Path(log.replace("%j", job_id)).stat().st_mode) == 0o640, attempt
    finally:
        ids = [job_id for (job_id,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions "
                                             "WHERE job_id IS NOT NULL")] if (work / "pbt_tracker.db").exists() else []
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True)
