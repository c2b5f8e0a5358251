"""pbt-track watch on the real cluster: a job that ends by its time limit is resumed by the keeper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, query
from tests.slurm.conftest import wait_for_state
from tests.test_processes import wait_until

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")

SCRIPT = """
import pathlib, time
marker = pathlib.Path(__file__).with_name("ran")
first = not marker.exists()
marker.write_text("ran")
if first:
    time.sleep(600)
"""

RUN_MODULE = """
from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription
RUN_DESCRIPTION = RunDescription(
    "kept", experiments=[Experiment("kept", "{python} {script}", ParamGrid([("pbt.policy_idx", [0])]).generate_params())],
    experiment_arg_name="experiment", experiment_dir_arg_name="hydra.run.dir", param_prefix="",
    customize_experiment_name=False,
)
"""


def test_a_job_ended_by_its_time_limit_is_resumed_and_the_keeper_exits_when_it_completes(tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text(SCRIPT)
    module = tmp_path / "kept_run.py"
    module.write_text(RUN_MODULE.format(python=sys.executable, script=tmp_path / "policy.py"))
    work = tmp_path / "work"
    done = subprocess.run([PBT_TRACK, "submit", "--run", str(module), "--backend", "slurm", "--slurm_workdir", str(work),
                           "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ((job_id,),) = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions")
    wait_for_state(job_id, {"RUNNING"})
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "TimeLimit=1"], check=True)

    kept = subprocess.run([PBT_TRACK, "watch", "--workdir", str(work), "--interval", "5", "--max-attempts", "2"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=400)

    assert kept.returncode == 0, kept.stderr
    lines = kept.stdout.splitlines()
    assert "00_kept: resume: attempt 1 ended TIMEOUT; resumed as attempt 2" in lines
    assert lines[-1] == "keeper: finished: every experiment is final (1 COMPLETED)"
    assert query(work / "pbt_tracker.db", "SELECT attempt, state FROM submissions ORDER BY attempt") == [
        (1, "TIMEOUT"), (2, "COMPLETED")]
    assert query(work / "pbt_tracker.db", "SELECT action FROM keeper_decisions ORDER BY id") == [("resume",), ("finished",)]


def test_the_keeper_job_hands_over_to_its_continuation_on_usr1(tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text(SCRIPT)
    module = tmp_path / "kept_run.py"
    module.write_text(RUN_MODULE.format(python=sys.executable, script=tmp_path / "policy.py"))
    work = tmp_path / "work"
    subprocess.run([PBT_TRACK, "submit", "--run", str(module), "--backend", "slurm", "--slurm_workdir", str(work),
                    "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t")],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    try:
        submitted = subprocess.run([PBT_TRACK, "watch", "--workdir", str(work), "--submit", "--interval", "2",
                                    "--keeper-time", "10"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert submitted.returncode == 0, submitted.stderr
        keeper_job = submitted.stdout.split()[-1]
        assert submitted.stdout == f"Submitted pbt-track-keeper as job {keeper_job}\n"
        wait_for_state(keeper_job, {"RUNNING"})
        wait_until(lambda: query(work / "pbt_tracker.db", "SELECT pid FROM keeper_lease"), what="the keeper at work")
        subprocess.run(["scancel", "--batch", "--signal=USR1", keeper_job], check=True)  # as Slurm does 120 s before the limit
        wait_for_state(keeper_job, {"COMPLETED"})
        rows = query(work / "pbt_tracker.db", "SELECT s.attempt, s.state FROM submissions AS s JOIN experiments AS e "
                                              "ON e.id = s.experiment_id WHERE e.name = 'pbt-track-keeper' ORDER BY s.attempt")
        assert [attempt for attempt, _state in rows] == [1, 2]
        assert rows[1][1] != "SUBMIT_FAILED"
    finally:
        subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--all"], capture_output=True, timeout=120)


def test_a_keeper_job_killed_outside_pbt_track_does_not_block_the_next_and_a_live_one_is_cancelled_as_advised(
        tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text(SCRIPT)
    module = tmp_path / "kept_run.py"
    module.write_text(RUN_MODULE.format(python=sys.executable, script=tmp_path / "policy.py"))
    work = tmp_path / "work"
    subprocess.run([PBT_TRACK, "submit", "--run", str(module), "--backend", "slurm", "--slurm_workdir", str(work),
                    "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t")],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    watch = [PBT_TRACK, "watch", "--workdir", str(work), "--submit", "--interval", "2", "--keeper-time", "10:00"]
    try:
        first = subprocess.run(watch, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        killed = first.stdout.split()[-1]
        wait_for_state(killed, {"RUNNING"})
        subprocess.run(["scancel", "--signal=KILL", "--full", killed], check=True)  # killed inside its job
        wait_for_state(killed, {"CANCELLED", "FAILED"})

        second = subprocess.run(watch, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

        assert second.returncode == 0, second.stderr
        live = second.stdout.split()[-1]
        assert live != killed
        wait_for_state(live, {"RUNNING"})
        third = subprocess.run(watch, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert (third.returncode, third.stderr) == (1, (
            f"Error: a keeper job is already queued or running for this workdir ({live}); cancel it first "
            "(pbt-track cancel --run pbt-track-keeper) to start another\n"))
        cancelled = subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--run", "pbt-track-keeper"],
                                   cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert (cancelled.returncode, cancelled.stdout) == (0, f"Cancelled pbt-track-keeper (job {live})\n")
    finally:
        subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--all"], capture_output=True, timeout=120)
        subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--run", "pbt-track-keeper"],
                       capture_output=True, timeout=120)


def test_short_timeout_limits_are_time_limits_to_the_keeper_not_a_crash_loop(tmp_path: Path) -> None:
    from pbt_tracker.templates import template_path

    (tmp_path / "policy.py").write_text("import time\ntime.sleep(60)\n")
    module = tmp_path / "kept_run.py"
    module.write_text(RUN_MODULE.format(python=sys.executable, script=tmp_path / "policy.py"))
    work = tmp_path / "work"
    subprocess.run([PBT_TRACK, "submit", "--run", str(module), "--backend", "slurm", "--slurm_workdir", str(work),
                    "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t"),
                    "--slurm_sbatch_template", str(template_path("timeout_limited")), "--slurm_timeout", "2"],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    try:
        kept = subprocess.run([PBT_TRACK, "watch", "--workdir", str(work), "--interval", "1", "--max-attempts", "4"],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)

        assert [line for line in kept.stdout.splitlines() if ": resume: " in line] == [
            f"00_kept: resume: attempt {n} ended FAILED 124 (its time limit, under `timeout`); "
            f"resumed as attempt {n + 1}" for n in (1, 2, 3)]
        assert "crash-loop" not in kept.stdout
        assert kept.stdout.splitlines()[-2:] == [
            "00_kept: give-up: attempt 4 ended FAILED 124 (its time limit, under `timeout`); it was the last "
            "of --max-attempts 4",
            "keeper: finished: every experiment is final (1 FAILED)"]
        assert (kept.returncode, kept.stderr) == (1, (
            "Error: 1 experiment(s) ended without completing: 00_kept FAILED (attempt 4); `pbt-track report` "
            "shows why, `pbt-track resubmit-failed` (or `watch --resume-failed`) runs them again\n"))
    finally:
        subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--all"], capture_output=True, timeout=120)


def test_the_keeper_finds_the_job_its_own_lost_sbatch_answer_created(tmp_path: Path) -> None:
    """Stand-in: sbatch is the real one, whose answer is then lost ("Socket timed out", exit 1), as a busy
    controller can leave it; a one-node Slurm never loses an answer by itself."""
    import os
    import shutil

    from tests.conftest import write_program

    (tmp_path / "policy.py").write_text(
        "import pathlib, sys\nmarker = pathlib.Path(__file__).with_name('ran')\n"
        "first = not marker.exists()\nmarker.write_text('ran')\nsys.exit(1 if first else 0)\n")
    module = tmp_path / "kept_run.py"
    module.write_text(RUN_MODULE.format(python=sys.executable, script=tmp_path / "policy.py"))
    work = tmp_path / "work"
    subprocess.run([PBT_TRACK, "submit", "--run", str(module), "--backend", "slurm", "--slurm_workdir", str(work),
                    "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t")],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    real = shutil.which("sbatch")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_program(bin_dir, "sbatch", f"#!/bin/sh\n{real} \"$@\" >/dev/null\n"
                                     "echo 'sbatch: error: Batch job submission failed: Socket timed out on "
                                     "send/recv operation' >&2\nexit 1\n")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    try:
        kept = subprocess.run([PBT_TRACK, "watch", "--workdir", str(work), "--interval", "2", "--resume-failed"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)

        assert kept.returncode == 0, kept.stdout + kept.stderr
        assert kept.stdout.splitlines()[-1] == "keeper: finished: every experiment is final (1 COMPLETED)"
        rows = query(work / "pbt_tracker.db", "SELECT attempt, origin, state, job_id IS NOT NULL FROM submissions "
                                              "ORDER BY id")
        assert rows == [(1, "launch", "FAILED", 1), (2, "keeper", "COMPLETED", 1)]
        [(history,)] = query(work / "pbt_tracker.db", "SELECT group_concat(state, ' ') FROM state_changes "
                                                      "WHERE submission_id = 2")
        assert history.split()[:3] == ["SUBMITTING", "SUBMIT_UNCERTAIN", "SUBMITTED"]
    finally:
        subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--all"], capture_output=True, timeout=120)
