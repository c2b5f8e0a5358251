"""On the real Slurm: a cancel that arrives while the submitter is still inside sbatch reaches the job it sends.

Stand-in: sbatch is the real one behind a wrapper that first sleeps, as a busy controller answers late; a
one-node Slurm answers at once, so the window the cancel has to meet cannot be produced otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, query, write_program
from tests.slurm.conftest import wait_for_state

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


@pytest.mark.slurm
def test_a_cancel_during_a_slow_sbatch_waits_for_the_job_id_and_cancels_the_job(tmp_path: Path) -> None:
    real = shutil.which("sbatch")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_program(bin_dir, "sbatch", f"#!/bin/sh\nsleep 3\nexec {real} \"$@\"\n")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    work = tmp_path / "w"
    launch = subprocess.Popen(
        [PBT_TRACK, "submit", "--run", "tests.fixtures.one_sleeper", "--backend", "slurm", "--workdir", str(work),
         "--slurm_cpus_per_gpu", "1", "--train_dir", str(tmp_path / "t")],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (work / "pbt_tracker.db").exists() or query(
                work / "pbt_tracker.db", "SELECT state FROM submissions") != [("SUBMITTING",)]:
            assert time.monotonic() < deadline, "the launch never reached sbatch"
            time.sleep(0.1)

        cancelled = subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--run", "one_sleeper"],
                                   cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

        assert launch.wait(timeout=60) == 0
        [(job_id,)] = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions")
        assert (cancelled.returncode, cancelled.stdout) == (0, f"Cancelled 00_nap_see_1 (job {job_id})\n")
        wait_for_state(job_id, {"CANCELLED"})
    finally:
        if launch.poll() is None:
            launch.kill()
        launch.communicate()
        ids = [job for (job,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE job_id "
                                       "IS NOT NULL")] if (work / "pbt_tracker.db").exists() else []
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True)
