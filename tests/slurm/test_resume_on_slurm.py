"""A toy PBT population on the real cluster: the policy that failed continues from its checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT, query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
TEMPLATE = "#!/bin/bash\n#SBATCH --time=5\n$CMD\n"
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "SUBMIT_FAILED"}


def pbt_track(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    # The jobs run `python -m pbt_tracker...` from the environment sbatch passes on: this virtualenv's first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([PBT_TRACK, *argv], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def wait_until_final(cwd: Path, timeout: float = 180) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = json.loads(pbt_track(cwd, "report", "--workdir", "w", "--format", "json").stdout)
        if all(row["state"] in FINAL for row in rows):
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(2)


def test_a_failed_policy_continues_from_its_checkpoint_in_a_new_recorded_script(tmp_path: Path) -> None:
    (tmp_path / "template.sh").write_text(TEMPLATE)
    launched = pbt_track(tmp_path, "submit", "--run", "tests.fixtures.toy_pbt_small", "--backend", "slurm",
                         "--workdir", "w", "--train_dir", "train_dir", "--slurm_sbatch_template", "template.sh",
                         "--slurm_cpus_per_gpu", "1", "--slurm_gpus_per_job", "0", "--pause_between", "0")
    assert launched.returncode == 0, launched.stdout + launched.stderr
    rows = wait_until_final(tmp_path)
    assert [(row["experiment"], row["state"], row["exit_code"]) for row in rows] == [
        ("00_toy_small", "COMPLETED", 0), ("01_toy_small", "FAILED", 3),
    ]
    workspace = tmp_path / "train_dir" / "toy_small" / "toy_small_" / "runs" / "ws"
    first_life = (workspace / "001" / "000001.yaml").read_bytes()

    resubmitted = pbt_track(tmp_path, "resubmit-failed", "--workdir", "w")

    assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr
    checkpoint = workspace / "001" / "000001.pth"
    assert resubmitted.stdout.splitlines()[0] == (
        f"01_toy_small: continues policy 1 from iteration 1 (checkpoint {checkpoint})"
    )
    work = tmp_path / "w"
    new_script = work / "continuations" / "sbatch_01_toy_small.2.sh"
    [(path, text, origin)] = query(work / "pbt_tracker.db",
                                   "SELECT sc.path, sc.text, s.origin FROM submissions s JOIN scripts sc "
                                   "ON sc.id = s.script_id WHERE s.attempt = 2")
    assert (path, origin) == (str(new_script), "resubmit")
    assert new_script.read_text() == text
    assert "++pbt_restart=True" in text and f"checkpoint={checkpoint}" in text
    assert "pbt_restart" not in (work / "sbatch_01_toy_small.sh").read_text()

    rows = wait_until_final(tmp_path)
    assert [(row["experiment"], row["attempt"], row["state"]) for row in rows] == [
        ("00_toy_small", 1, "COMPLETED"), ("01_toy_small", 2, "COMPLETED"),
    ]
    files = sorted((workspace / "001").glob("0*.yaml"))
    assert [path.name for path in files] == ["000001.yaml", "000002.yaml", "000003.yaml", "000004.yaml"]
    assert (workspace / "001" / "000001.yaml").read_bytes() == first_life  # not written again: no restart from 0
    assert len({yaml.safe_load(path.read_text())["experiment_name"] for path in files}) == 1
