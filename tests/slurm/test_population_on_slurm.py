"""A toy PBT population of four on the real cluster, under a 12 s time limit, with a requeue and a crash.

Each job runs the shipped timeout_continue template: at its limit it submits
its own continuation from the latest checkpoint. One job is requeued
(`scontrol requeue`, as Slurm does on a node failure with --requeue; a
one-node cluster cannot lose its node, and NODE_FAIL cannot be produced
without reconfiguring it), and policy 2 crashes once, which `pbt-track watch
--resume-failed` resumes. The run must reach every policy's last iteration
with no policy ever starting over, as the recorded history shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pbt_tracker.templates import template_path
from tests.conftest import REPO_ROOT, query
from tests.slurm.conftest import start_requeued_now, wait_for_state

BIN = Path(sys.executable).parent
PBT_TRACK = str(BIN / "pbt-track")
ITERATIONS = 12


def env() -> dict[str, str]:
    # The jobs run `python -m ...` and `pbt-track continue` from the environment sbatch passes on.
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO_ROOT)}


def latest_job(db: Path, experiment: str) -> tuple[int, str | None]:
    [(attempt, job_id)] = query(db, "SELECT s.attempt, s.job_id FROM submissions s JOIN experiments e "
                                    "ON e.id = s.experiment_id WHERE e.name = ? ORDER BY s.attempt DESC LIMIT 1",
                                experiment)
    return attempt, job_id


def test_a_population_reaches_its_last_iteration_through_limits_a_requeue_and_a_crash(tmp_path: Path) -> None:
    work = tmp_path / "w"
    db = work / "pbt_tracker.db"
    workspace = tmp_path / "train_dir" / "toy_short" / "toy_short_" / "runs" / "ws"
    launched = subprocess.run(
        [PBT_TRACK, "submit", "--run", "tests.fixtures.toy_pbt_short", "--backend", "slurm", "--workdir", "w",
         "--train_dir", "train_dir", "--slurm_sbatch_template", str(template_path("timeout_continue")),
         "--slurm_timeout", "12", "--slurm_cpus_per_gpu", "1", "--slurm_gpus_per_job", "0", "--pause_between", "0"],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    watch = subprocess.Popen([PBT_TRACK, "watch", "--workdir", "w", "--interval", "5", "--resume-failed",
                              "--max-attempts", "10"], cwd=tmp_path, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (workspace / "001" / "000002.yaml").exists():
            assert time.monotonic() < deadline, "policy 1 wrote no second iteration"
            time.sleep(0.5)
        attempt, job_id = latest_job(db, "01_toy_short")
        assert job_id is not None
        wait_for_state(job_id, {"RUNNING"})
        subprocess.run(["scontrol", "requeue", job_id], check=True, capture_output=True)
        wait_for_state(job_id, {"PENDING"}, timeout=30)
        start_requeued_now(job_id)  # not after Slurm's hold (BeginTime)

        output, _ = watch.communicate(timeout=240)
        assert watch.returncode == 0, output

        assert output.splitlines()[-1] == "keeper: finished: every experiment is final (4 COMPLETED)", output
        # Each policy's own iteration files (its best<idx> copies of other policies' files left aside).
        history = query(db, "SELECT e.name, i.file_key, i.experiment_name, i.iteration FROM pbt_iterations i "
                            "JOIN experiments e ON e.id = i.experiment_id ORDER BY e.name, i.file_mtime, i.iteration")
        for policy in range(4):
            name = f"0{policy}_toy_short"
            rows = [(life, iteration) for who, own, life, iteration in history if who == name and own.startswith(f"{policy:03d}/")]
            lives = {life for life, _iteration in rows}
            assert len(lives) == 1, (name, rows)  # a second life would be a start from iteration 0
            iterations = [iteration for _life, iteration in rows]
            assert iterations == list(range(1, ITERATIONS + 1)), (name, iterations)  # none done twice, none lost

        attempts = query(db, "SELECT e.name, s.attempt, s.state, s.origin, p.attempt, s.exit_code FROM submissions s "
                             "JOIN experiments e ON e.id = s.experiment_id LEFT JOIN submissions p "
                             "ON p.id = s.parent_submission_id ORDER BY e.name, s.attempt")
        for name, attempt_no, state, origin, parent, _code in attempts:
            assert origin in (("continue", "resubmit", "keeper") if attempt_no > 1 else ("launch",)), attempts
            assert parent == (attempt_no - 1 if attempt_no > 1 else None), attempts
        finals = {}
        for name, attempt_no, state, *_rest in attempts:
            finals[name] = (attempt_no, state)
        assert {state for _attempt, state in finals.values()} == {"COMPLETED"}, attempts
        assert all(attempt_no >= 2 for attempt_no, _state in finals.values()), attempts  # every policy continued
        crashed = [row for row in attempts if row[0] == "02_toy_short" and row[5] == 3]
        assert [row[2] for row in crashed] == ["FAILED"], attempts
        requeued = [row for row in attempts if row[0] == "01_toy_short" and row[1] == attempt + 1]
        # Its successor is the requeued run's own `continue`, or, when the requeue landed as the job's limit
        # stopped it (seen once on this busy node), the keeper's resume; either way the lives above show no restart.
        assert requeued and requeued[0][3] in ("continue", "resubmit", "keeper"), attempts
        assert ("COMPLETED",) not in query(db, "SELECT state FROM submissions WHERE exit_code NOT IN (0)")

        decisions = query(db, "SELECT e.name, k.action FROM keeper_decisions k LEFT JOIN experiments e "
                              "ON e.id = k.experiment_id ORDER BY k.id")
        assert ("02_toy_short", "resume") in decisions, decisions
        assert decisions[-1][1] == "finished", decisions
    finally:
        if watch.poll() is None:
            watch.terminate()
            watch.wait(timeout=30)
        subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--all"], env=env(), capture_output=True,
                       timeout=120)
