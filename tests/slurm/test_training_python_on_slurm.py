"""An IsaacGymEnvs user's run on the real cluster: pbt-track installed on its own, the training environment Python 3.8.

The shell that submits is the training environment's (its bin first on PATH,
as `conda activate` leaves it, and no pbt-track there): pbt-track is called by
its absolute path, as pipx's would be. The run module is read with --python;
sbatch passes that environment on to the jobs, whose `python` is then 3.8, and
whose `$PBT_TRACK continue` at the time limit reaches pbt-track by its path.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from pbt_tracker.templates import template_path
from tests.conftest import query, read_with

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
RUN = "isaacgymenvs.pbt.experiments.train_standin_timed"
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "SUBMIT_FAILED"}


def in_training_env(env38: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env38.parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin"
    return subprocess.run([PBT_TRACK, *argv], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def attempts(env38: Path, cwd: Path, until: list[tuple[str, int, str]], timeout: float = 120) -> list[tuple]:
    """(experiment, attempt, state, exit code) of every attempt, once the latest ones are `until` and final."""
    deadline = time.monotonic() + timeout
    while True:
        report = in_training_env(env38, cwd, "report", "--workdir", "w", "--all-attempts", "--format", "json")
        rows = [(row["experiment"], row["attempt"], row["state"], row["exit_code"]) for row in json.loads(report.stdout)]
        latest = {name: (name, attempt, state) for name, attempt, state, _code in rows}
        if sorted(latest.values()) == until and all(state in FINAL for _name, _attempt, state, _code in rows):
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(2)


def test_the_run_is_read_and_trained_under_python_3_8_and_continues_through_pbt_track_by_its_path(
    env38: Path, version38: str, tmp_path: Path
) -> None:
    launched = in_training_env(env38, tmp_path, "submit", "--run", RUN, "--python", str(env38), "--backend", "slurm",
                               "--slurm_workdir", "w", "--train_dir", "train_dir", "--slurm_sbatch_template",
                               str(template_path("timeout_continue")), "--slurm_timeout", "9",
                               "--slurm_gpus_per_job", "0", "--slurm_cpus_per_gpu", "1", "--pause_between", "0")
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert launched.stdout.splitlines()[0] == read_with("Slurm", str(env38), version38)
    work = tmp_path / "w"
    [(options,)] = query(work / "pbt_tracker.db", "SELECT options FROM launches")
    assert [json.loads(options)[key] for key in ("python", "described_with", "described_with_version")] == [
        str(env38), str(env38), version38]

    # Policy 0 reaches the limit and continues itself through `$PBT_TRACK continue`; policy 1 crashes.
    rows = attempts(env38, tmp_path, [("00_timed_standin", 2, "COMPLETED"), ("01_timed_standin", 1, "FAILED")])
    assert rows == [("00_timed_standin", 1, "FAILED", 124), ("00_timed_standin", 2, "COMPLETED", 0),
                    ("01_timed_standin", 1, "FAILED", 3)]
    own = shlex.join([Path(PBT_TRACK).read_text().splitlines()[0][2:], "-m", "pbt_tracker"])  # its interpreter
    continuation = (work / "continuations" / "sbatch_00_timed_standin.2.sh").read_text()
    assert f"env -u SLURM_RESTART_COUNT {own} continue --workdir" in continuation
    assert "++pbt_restart=True" in continuation

    resubmitted = in_training_env(env38, tmp_path, "resubmit-failed", "--workdir", "w")
    assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr
    rows = attempts(env38, tmp_path, [("00_timed_standin", 2, "COMPLETED"), ("01_timed_standin", 2, "COMPLETED")])
    assert rows[-1] == ("01_timed_standin", 2, "COMPLETED", 0)

    logs = query(work / "pbt_tracker.db", "SELECT log_path, job_id FROM submissions ORDER BY id")
    firsts = {Path(log.replace("%j", job)).read_text().splitlines()[0] for log, job in logs}
    assert firsts == {f"isaacgymenvs.train stand-in: Python {version38} at {env38}"}
    workspace = tmp_path / "train_dir" / "timed_standin" / "timed_standin_" / "runs" / "ws"
    for policy in ("000", "001"):
        assert sorted(path.name for path in (workspace / policy).glob("*.yaml")) == [
            f"{iteration:06d}.yaml" for iteration in range(1, 6)]
