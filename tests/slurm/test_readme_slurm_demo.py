"""The README's Slurm demo, its commands run as written: policy 2 crashes, resubmit-failed continues it, report shows both."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "SUBMIT_FAILED"}


def readme_block(containing: str) -> str:
    [block] = [block for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S) if containing in block]
    return block


def run_block(cwd: Path, home: Path, block: str) -> subprocess.CompletedProcess[str]:
    """The block as a newcomer types it into bash (an 80-column one), stopping at the first command that fails."""
    return subprocess.run(["bash", "-e", "-c", block], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "80", "HOME": str(home)})


def wait_until_final(cwd: Path, timeout: float = 240) -> list[dict[str, object]]:
    pbt_track = Path(sys.executable).parent / "pbt-track"
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run([str(pbt_track), "report", "--workdir", "demo_slurm", "--format", "json"], cwd=cwd,
                              capture_output=True, text=True, timeout=120)
        rows = json.loads(done.stdout)
        if all(row["state"] in FINAL for row in rows):
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(2)


@pytest.mark.slurm
def test_the_readme_slurm_demo_shows_a_crash_and_its_resume(tmp_path: Path) -> None:
    """Run from a checkout (holding only its .venv) with a home of its own, where the demo makes its folder."""
    checkout, home = tmp_path / "checkout", tmp_path / "home"
    checkout.mkdir()
    home.mkdir()
    # The README's `. .venv/bin/activate` activates the virtualenv pbt-track is installed in: this one.
    (checkout / ".venv").symlink_to(Path(sys.prefix))
    launch = readme_block("--backend slurm --slurm_workdir demo_slurm")
    assert launch.splitlines()[0].split("#")[0].strip() == ". .venv/bin/activate"
    launched = run_block(checkout, home, launch)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "Submitted 4 of 4 experiment(s)" in launched.stdout
    demo = home / "pbt-track-demo"
    assert sorted(path.name for path in checkout.iterdir()) == [".venv"]  # the checkout holds nothing of the demo

    rows = wait_until_final(demo)
    assert [(row["experiment"], row["state"], row["exit_code"]) for row in rows] == [
        ("00_toy_pbt", "COMPLETED", 0), ("01_toy_pbt", "COMPLETED", 0), ("02_toy_pbt", "FAILED", 3),
        ("03_toy_pbt", "COMPLETED", 0),
    ]

    # The same shell: the virtualenv is still active, and the current directory is the demo's folder.
    same_shell = f"cd {checkout}\n{launch.splitlines()[0]}\ncd {demo}\n"
    resume = readme_block("pbt-track resubmit-failed --workdir demo_slurm")
    resumed = run_block(checkout, home, same_shell + resume)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    workspace = demo / "demo_slurm" / "train" / "toy_pbt" / "toy_pbt_" / "runs" / "workspace_toy_pbt"
    assert resumed.stdout.splitlines()[0] == (
        f"02_toy_pbt: continues policy 2 from iteration 2 (checkpoint {workspace / '002' / '000002.pth'})"
    )
    assert (demo / "demo_slurm" / "continuations" / "sbatch_02_toy_pbt.2.sh").is_file()

    wait_until_final(demo)
    [report] = [line for line in resume.splitlines() if line.startswith("pbt-track report")]
    shown = run_block(checkout, home, same_shell + report)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    table = [line.split() for line in shown.stdout.splitlines()]
    assert table[0][:8] == ["experiment", "attempt", "job_id", "state", "exit_code", "policy", "iteration",
                           "objective"]  # at 80 columns the `best` column gives way; the last line names the best
    crashed = [(row[0], row[1], row[3], row[4], row[6]) for row in table[2:] if row and row[0] == "02_toy_pbt"]
    # At 80 columns the states take squeue's short codes (F, CD); the summary below spells them out.
    assert crashed == [("02_toy_pbt", "1", "F", "3", "10"), ("02_toy_pbt", "2", "CD", "0", "10")]
    assert table[-2] == ["5", "attempts:", "4", "COMPLETED,", "1", "FAILED"]
    assert table[-1][:2] == ["best:", "policy"]  # the population at a glance: the best policy, named
    assert os.path.isdir(demo / "demo_slurm" / "train")  # its own train dir, not ./train_dir
    assert not (demo / "train_dir").exists()

    clean_up = readme_block("rm -rf ~/pbt-track-demo")
    cleaned = run_block(checkout, home, same_shell + clean_up)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert cleaned.stdout.strip() == str(checkout)  # `cd -` went back to the checkout
    assert not demo.exists()
    assert sorted(path.name for path in checkout.iterdir()) == [".venv"]
    assert sorted(path.name for path in home.iterdir()) == []
