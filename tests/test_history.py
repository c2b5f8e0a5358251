"""The PBT history copied into the record: iteration files once each, log events once each, and report --pbt from it."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.pbt.history import copy_history
from pbt_tracker.store import open_store
from tests.conftest import query


def synced_workspace_launch(tmp_path: Path, synced_sql: str) -> Path:
    """A print-only Slurm launch of tests.fixtures.pbt_workspace_echo whose record then gets `synced_sql`, as a
    sync would have written it: its workdir."""
    import sqlite3

    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_workspace_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
                                      "--slurm_print_only", "true"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.executescript(synced_sql)
    connection.close()
    return work


def write_iteration(policy_dir: Path, iteration: int, name: str, objective: float, mtime: int,
                    file_name: str | None = None, params: dict[str, object] | None = None) -> Path:
    policy_dir.mkdir(parents=True, exist_ok=True)
    path = policy_dir / (file_name or f"{iteration:06d}.yaml")
    path.write_text(yaml.dump({"iteration": iteration, "true_objective": objective, "frame": iteration * 100,
                               "experiment_name": name, "params": params or {"train.lr": 0.001},
                               "pbt_checkpoint": str(policy_dir / f"{iteration:06d}.pth")}))
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9))
    return path


@pytest.fixture
def launched(tmp_path: Path, in_repo: Path) -> tuple[Path, Path]:
    """A print-only launch of a two-policy PBT run, and its workspace."""
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_workspace_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
                                      "--slurm_print_only", "true"])
    assert result.exit_code == 0, result.output
    [(cmd,)] = query(work / "pbt_tracker.db", "SELECT cmd FROM experiments WHERE name = '00_ws_pbt'")
    return work, Path(shlex.split(cmd)[-1].partition("=")[2]) / "runs" / "ws"


def copy(work: Path) -> tuple[int, int]:
    store = open_store(work)
    try:
        return copy_history(store)
    finally:
        store.close()


def test_files_are_copied_once_and_a_rewritten_file_again(launched: tuple[Path, Path]) -> None:
    work, workspace = launched
    for iteration in (1, 2, 3):
        write_iteration(workspace / "000", iteration, "life_a", float(iteration), 1000 + iteration)
    write_iteration(workspace / "001", 1, "life_b", 5.0, 1001)
    write_iteration(workspace / "best0", 1, "life_b", 5.0, 1002, "toy_best_obj_5_iter_0001_policy001_frame100.yaml")
    (workspace / "001" / "000002.yaml").write_text("iteration: 2\ntrue_obj")  # half written: left for later

    assert copy(work) == (5, 0)
    assert copy(work) == (0, 0)
    write_iteration(workspace / "000", 3, "life_a", 3.5, 2000)
    assert copy(work) == (1, 0)

    rows = query(work / "pbt_tracker.db", "SELECT e.name, i.policy, i.iteration, i.true_objective, i.file_key "
                                          "FROM pbt_iterations AS i JOIN experiments AS e ON e.id = i.experiment_id "
                                          "ORDER BY i.id")
    assert [row[:4] for row in rows] == [
        ("00_ws_pbt", 0, 1, 1.0), ("00_ws_pbt", 0, 2, 2.0), ("00_ws_pbt", 0, 3, 3.0), ("01_ws_pbt", 1, 1, 5.0),
        ("00_ws_pbt", 1, 1, 5.0), ("00_ws_pbt", 0, 3, 3.5),
    ]
    assert rows[4][4] == f"best0/toy_best_obj_5_iter_0001_policy001_frame100.yaml@{1002 * 10**9}"


def test_a_sync_copies_the_new_iteration_files_of_the_records_pbt_policies(launched: tuple[Path, Path]) -> None:
    work, workspace = launched
    write_iteration(workspace / "000", 1, "life_a", 1.0, 1001)
    synced = CliRunner().invoke(cli, ["sync", "--workdir", str(work)])
    assert synced.exit_code == 0, synced.output
    assert query(work / "pbt_tracker.db", "SELECT policy, iteration, experiment_name FROM pbt_iterations") == [
        (0, 1, "life_a")
    ]


def test_report_pbt_shows_the_current_life_best_copies_and_params(launched: tuple[Path, Path]) -> None:
    work, workspace = launched
    for iteration in range(1, 9):  # an earlier life that got to iteration 8
        write_iteration(workspace / "000", iteration, "life_old", 50.0 + iteration, 1000 + iteration)
    for iteration in (1, 2):  # started over: iterations 1 and 2 again, under a new name
        write_iteration(workspace / "000", iteration, "life_new", 10.0 + iteration, 2000 + iteration,
                        params={"train.params.config.learning_rate": 0.000123456, "train.gamma": 0.99})
    write_iteration(workspace / "001", 4, "life_b", 20.0, 1500)
    write_iteration(workspace / "best1", 7, "life_old", 99.0, 1600, "toy_best_obj_99_iter_0007_policy000_frame700.yaml")

    result = CliRunner().invoke(cli, ["report", "--workdir", str(work), "--pbt", "--format", "json", "--no-sync"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["pbt_policy"], r["pbt_iteration"], r["pbt_objective"], r["pbt_best_objective"],
             r["pbt_population_best"]) for r in rows] == [(0, 2, 12.0, 99.0, 99.0), (1, 4, 20.0, 20.0, 99.0)]
    assert rows[0]["pbt_params"] == {"train.params.config.learning_rate": 0.000123456, "train.gamma": 0.99}

    for path in (workspace / "000").glob("*.yaml"):  # IsaacGymEnvs' clean-up: the record keeps the history
        path.unlink()
    table = CliRunner().invoke(cli, ["report", "--workdir", str(work), "--pbt", "--no-sync", "--wide"]).output.splitlines()
    assert table[0].split()[8:] == ["policy", "iteration", "objective", "best", "params", "log", "reason"]
    # The population at a glance: best objective first, marked; policy 0 second.
    assert [line.split()[8] for line in table[2:4]] == ["1*", "0"]
    assert table[3].split()[8:14] == ["0", "2", "12", "99", "gamma=0.99", "learning_rate=0.0001235"]
    assert table[-2:] == ["best: policy 1 (01_ws_pbt), objective 20",
                          "PBT policy started over: 00_ws_pbt (in a run outside its recorded attempts) restarted "
                          "from iteration 0 after iteration 8 (2 iterations redone so far)"]


LOG = (
    "Policy 1: New pbt iteration 3!\n"
    "Replacing underperforming policy 1 with 0\n"
    "Policy 1: Preparing to restart the process with mutated parameters! Checkpoint /ws/000/000003.pth\n"
    "Policy 1: New pbt iteration 4!\n"
)


def test_replacement_events_are_read_from_each_attempts_log_once(tmp_path: Path, in_repo: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """sbatch is a stand-in that refuses, then accepts with job id 4242, so the test needs no cluster."""
    fake_bin("sbatch", "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid account' >&2\nexit 1\n")
    work = tmp_path / "w"
    argv = ["--workdir", str(work)]
    CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_workspace_echo", "--backend", "slurm", *argv,
                             "--train_dir", str(tmp_path / "t"), "--pause_between", "0"])
    fake_bin("sbatch", "#!/bin/sh\necho 4242\n")
    assert CliRunner().invoke(cli, ["resubmit-failed", *argv, "--no-sync", "--experiment", "01_ws_pbt"]).exit_code == 0
    log = work / "sbatch_01_ws_pbt.sh-slurm-4242.out"
    log.write_text(LOG)

    assert copy(work) == (0, 1)
    assert copy(work) == (0, 0)
    with log.open("a") as handle:
        handle.write("Replacing underperforming policy 1 with 0\nPolicy 1: Preparing to restart the process "
                     "with mutated parameters! Checkpoint /ws/000/000004.pth\nPolicy 1: Restarting self with args "
                     "['t.py', '++pbt_restart=True', 'checkpoint=/ws/000/000004.pth', 'lr=0.5']\nPolicy 1: New pbt")
    assert copy(work) == (0, 1)

    db = work / "pbt_tracker.db"
    assert query(db, "SELECT policy, donor, iteration, checkpoint, log_offset, line FROM pbt_events ORDER BY id") == [
        (1, 0, 3, "/ws/000/000003.pth", LOG.index("Policy 1: Preparing"), LOG.splitlines()[2]),
        (1, 0, 4, "/ws/000/000004.pth", len(LOG) + len("Replacing underperforming policy 1 with 0\n"),
         "Policy 1: Preparing to restart the process with mutated parameters! Checkpoint /ws/000/000004.pth"),
    ]
    # The start that carried the second decision out, with that decision's iteration and donor.
    assert query(db, "SELECT policy, iteration, donor, checkpoint, args, outcome FROM pbt_starts") == [
        (1, 4, 0, "/ws/000/000004.pth", '["t.py", "++pbt_restart=True", "checkpoint=/ws/000/000004.pth", "lr=0.5"]',
         None),
    ]
    assert query(db, "SELECT log_read_offset FROM submissions WHERE log_read_offset IS NOT NULL") == [
        (log.stat().st_size - len("Policy 1: New pbt"),)
    ]
