"""A later attempt runs with its launch's choice of software, whoever sends it from whatever shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pbt_tracker.launch.environment import CHOICES, as_launched, chosen
from tests.conftest import query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
# A tool found only on the launch's PATH: it fails its first run, and says which environment its second ran in.
FLAKY_TOOL = """#!/bin/sh
if [ ! -e ran-once ]; then touch ran-once; exit 3; fi
echo "second run with VIRTUAL_ENV=${VIRTUAL_ENV:-none}"
"""
RUN = """from pbt_tracker.run_description import Experiment, RunDescription
RUN_DESCRIPTION = RunDescription("tools", experiments=[Experiment("flaky", "flaky-tool", [{}])])
"""


def test_the_launch_keeps_what_chooses_its_software_and_nothing_else() -> None:
    environ = {"PATH": "/venv/bin:/usr/bin", "VIRTUAL_ENV": "/venv", "HOME": "/home/me", "WANDB_API_KEY": "secret"}
    assert chosen(environ) == {"PATH": "/venv/bin:/usr/bin", "VIRTUAL_ENV": "/venv"}
    assert set(CHOICES) >= {"PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "LD_LIBRARY_PATH"}


def test_a_later_sender_gets_the_launchs_choices_in_place_of_its_own_and_keeps_the_rest() -> None:
    sender = {"PATH": "/usr/bin", "CONDA_PREFIX": "/conda/other", "HOME": "/home/me", "SLURM_CONF": "/etc/slurm.conf"}
    assert as_launched({"PATH": "/venv/bin:/usr/bin", "VIRTUAL_ENV": "/venv"}, sender) == {
        "PATH": "/venv/bin:/usr/bin", "VIRTUAL_ENV": "/venv", "HOME": "/home/me", "SLURM_CONF": "/etc/slurm.conf"}


def test_a_launch_recorded_before_environments_were_leaves_the_sender_its_own() -> None:
    assert as_launched(None, {"PATH": "/usr/bin"}) is None


def environment(path: str, **extra: str) -> dict[str, str]:
    return {**{name: value for name, value in os.environ.items() if name not in CHOICES},
            "PATH": f"{path}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin", **extra}


def test_a_local_experiment_resubmitted_from_another_shell_runs_with_its_launchs_path(tmp_path: Path) -> None:
    project, elsewhere, work = tmp_path / "project", tmp_path / "elsewhere", tmp_path / "work"
    (project / "bin").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "bin" / "flaky-tool").write_text(FLAKY_TOOL)
    (project / "bin" / "flaky-tool").chmod(0o755)
    (project / "run.py").write_text(RUN)
    launched = subprocess.run(
        [PBT_TRACK, "submit", "--run", "run.py", "--backend", "processes", "--workdir", str(work), "--train_dir",
         str(tmp_path / "t"), "--pause_between", "0"], cwd=project, capture_output=True, text=True, timeout=120,
        env=environment(str(project / "bin"), VIRTUAL_ENV=str(project / "venv")))
    assert launched.returncode != 0  # the tool's first run fails
    [(options,)] = query(work / "pbt_tracker.db", "SELECT options FROM launches")
    assert json.loads(options)["environment"]["VIRTUAL_ENV"] == str(project / "venv")

    again = subprocess.run([PBT_TRACK, "resubmit-failed", "--workdir", str(work)], cwd=elsewhere,
                           capture_output=True, text=True, timeout=120, env=environment("/nowhere"))

    assert again.returncode == 0, again.stdout + again.stderr
    assert (work / "00_flaky.2.log").read_text() == f"second run with VIRTUAL_ENV={project / 'venv'}\n"
