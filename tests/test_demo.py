"""The README's first command: the toy PBT demo on the processes backend, watched and repaired with pbt-track."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def pbt_track(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBT_TRACK, *argv], cwd=cwd, capture_output=True, text=True, timeout=300)


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
                                "policy", "iteration", "objective", "best", "log", "reason"]
    table = pbt_track(tmp_path, "report", "--workdir", "demo", "--pbt").stdout.splitlines()
    assert max(len(line) for line in table) <= 80

    resubmitted = pbt_track(tmp_path, "resubmit-failed", "--workdir", "demo")
    assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr
    rows = json.loads(pbt_track(tmp_path, "report", "--workdir", "demo", "--pbt", "--format", "json").stdout)
    assert [(r["state"], r["attempt"], r["pbt_iteration"]) for r in rows] == [
        ("COMPLETED", 1, 10), ("COMPLETED", 1, 10), ("COMPLETED", 2, 10), ("COMPLETED", 1, 10)
    ]
    workspace = tmp_path / "train_dir" / "toy_pbt" / "toy_pbt_" / "runs" / "workspace_toy_pbt"
    assert sorted(p.name for p in (workspace / "002").glob("*.yaml"))[-1] == "000010.yaml"
