"""The README's first command: the toy PBT demo on the processes backend, watched and repaired with pbt-track."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def pbt_track(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBT_TRACK, *argv], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # runs the whole demo: four policies training to the end, one of them twice
def test_demo_runs_reports_pbt_progress_and_recovers_its_crashed_policy(tmp_path: Path) -> None:
    launched = pbt_track(tmp_path, "submit", "--run", "pbt_tracker.examples.toy_pbt", "--workdir", "demo")
    assert launched.returncode == 1, launched.stderr
    assert launched.stdout.splitlines()[-1] == "1 of 4 experiments did not complete."

    rows = json.loads(pbt_track(tmp_path, "report", "--workdir", "demo", "--pbt", "--format", "json").stdout)
    assert [(r["experiment"], r["state"], r["exit_code"], r["pbt_policy"]) for r in rows] == [
        ("00_toy_pbt", "COMPLETED", 0, 0),
        ("01_toy_pbt", "COMPLETED", 0, 1),
        ("02_toy_pbt", "FAILED", 3, 2),
        ("03_toy_pbt", "COMPLETED", 0, 3),
    ]
    assert [r["pbt_iteration"] for r in rows] == [10, 10, 2, 10]
    assert all(isinstance(r["pbt_objective"], float) and r["pbt_best_objective"] >= r["pbt_objective"] for r in rows)

    table = pbt_track(tmp_path, "report", "--workdir", "demo", "--pbt", "--wide").stdout.splitlines()
    assert table[0].split() == ["run", "experiment", "attempt", "job_id", "state", "exit_code", "elapsed", "node",
                                "policy", "iteration", "objective", "best", "params", "log", "reason"]
    table = pbt_track(tmp_path, "report", "--workdir", "demo", "--pbt").stdout.splitlines()
    assert max(len(line) for line in table) <= 80

    workspace = tmp_path / "train_dir" / "toy_pbt" / "toy_pbt_" / "runs" / "workspace_toy_pbt"
    before = {path.name: path.read_bytes() for path in (workspace / "002").glob("*.yaml")}
    assert sorted(before) == ["000001.yaml", "000002.yaml"]
    life = yaml.safe_load(before["000002.yaml"])["experiment_name"]

    resubmitted = pbt_track(tmp_path, "resubmit-failed", "--workdir", "demo")
    assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr
    assert resubmitted.stdout.splitlines()[0] == (
        f"02_toy_pbt: continues policy 2 from iteration 2 (checkpoint {workspace / '002' / '000002.pth'})"
    )
    rows = json.loads(pbt_track(tmp_path, "report", "--workdir", "demo", "--pbt", "--format", "json").stdout)
    assert [(r["state"], r["attempt"], r["pbt_iteration"]) for r in rows] == [
        ("COMPLETED", 1, 10), ("COMPLETED", 1, 10), ("COMPLETED", 2, 10), ("COMPLETED", 1, 10)
    ]
    history = query(tmp_path / "demo" / "pbt_tracker.db",
                    "SELECT i.iteration, i.experiment_name FROM pbt_iterations AS i JOIN experiments AS e "
                    "ON e.id = i.experiment_id WHERE e.name = '02_toy_pbt' AND i.file_key LIKE '002/%' "
                    "ORDER BY i.iteration")
    # Each iteration was written once, in one life: a restart from 0 would have written iterations 1 and 2 again.
    assert history == [(iteration, life) for iteration in range(1, 11)]
    restarts = sum(path.read_text().count("Preparing to restart the process") for path in (tmp_path / "demo").glob("*.log"))
    assert query(tmp_path / "demo" / "pbt_tracker.db", "SELECT count(*) FROM pbt_events") == [(restarts,)]
    assert all(isinstance(r["pbt_params"], dict) and set(r["pbt_params"]) == {"toy.learning_rate", "toy.noise_scale"}
               for r in rows)
    files = {path.name: path.read_bytes() for path in (workspace / "002").glob("*.yaml")}
    assert sorted(files) == [f"{iteration:06d}.yaml" for iteration in range(1, 11)]
    # Started over, the policy would have written its iterations 1 and 2 again under a new experiment name.
    assert {name: files[name] for name in before} == before
    assert {yaml.safe_load(text)["experiment_name"] for text in files.values()} == {life}
    second_log = (tmp_path / "demo" / "02_toy_pbt.2.log").read_text()
    assert "PBT init. Env frames: 2000, pbt_iteration: 2, checkpoint " in second_log
    assert "started without ++pbt_restart=True" not in second_log
