"""A launch that loses its database half-way says what reached Slurm, and its advice duplicates nothing.

sbatch is a stand-in wrapping the real one: on its second call it starts
another writer that holds the database's write lock past
PBT_TRACK_BUSY_TIMEOUT, which a one-node Slurm cannot arrange at a chosen
point of a launch. Jobs are held, so the queue never runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import FIXTURES, REPO_ROOT, query
from tests.slurm.test_crash_safety import slurm_jobs_from

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")

LOCK_HOLDER = (
    "import sqlite3, sys, time, pathlib; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "c.execute('BEGIN IMMEDIATE'); pathlib.Path(sys.argv[2]).touch(); time.sleep(5); c.execute('ROLLBACK'); "
    "pathlib.Path(sys.argv[3]).touch()"
)


def test_a_launch_stopped_by_a_locked_database_advises_sync_then_resubmit_and_that_queues_nothing_twice(
    tmp_path: Path, fake_bin
) -> None:
    work = tmp_path / "work"
    db, locked, released, calls = work / "pbt_tracker.db", tmp_path / "locked", tmp_path / "released", tmp_path / "calls"
    fake_bin("sbatch", f"""#!/bin/bash
n=$(( $(cat {calls} 2>/dev/null || echo 0) + 1 )); echo $n > {calls}
out=$({shutil.which("sbatch")} "$@"); rc=$?
if [ $n -eq 2 ]; then
    setsid {sys.executable} -c "{LOCK_HOLDER}" {db} {locked} {released} </dev/null >/dev/null 2>&1 &
    while [ ! -e {locked} ]; do sleep 0.05; done
fi
echo "$out"; exit $rc
""")
    truth: dict[str, str] = {}
    try:
        launched = subprocess.run(
            [PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
             "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"), "--slurm_cpus_per_gpu", "1",
             "--pause_between", "0.2", "--train_dir", str(tmp_path / "train"), "-v"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, "PBT_TRACK_BUSY_TIMEOUT": "1"},
        )
        sent = [line.rsplit(" ", 1)[1] for line in launched.stdout.splitlines() if line.startswith("Submitted ")]
        assert len(sent) == 2, launched.stdout + launched.stderr
        assert launched.returncode == 1
        assert launched.stderr.splitlines(keepends=True)[-1] == (
            "Error: the launch stopped after 2 of 3 sbatch call(s), because the record could not be written "
            f"({db} stayed locked by another pbt-track process for more than 1 s); job(s) {' '.join(sent)} reached "
            "Slurm. Do not launch again, that would queue them twice: once the database is writable, run "
            f"`pbt-track sync --workdir {work}` (it finds the sent jobs by their tags), then "
            f"`pbt-track resubmit-failed --workdir {work}` for the experiments not sent\n"
        )
        deadline = time.monotonic() + 30
        while not released.exists():
            assert time.monotonic() < deadline, "the lock holder never let go"
            time.sleep(0.1)

        synced = subprocess.run([PBT_TRACK, "sync", "--workdir", str(work)], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=120)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        # A held job is never eligible, so sacct never lists one and cannot prove the third job absent: it stays
        # SUBMIT_UNCERTAIN, and sync has found the two sent jobs by their tags, so sending it duplicates nothing.
        assert [state for (state,) in query(db, "SELECT state FROM submissions ORDER BY id")][-1] == "SUBMIT_UNCERTAIN"
        resubmitted = subprocess.run([PBT_TRACK, "resubmit-failed", "--workdir", str(work), "--include-uncertain"],
                                     cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr

        truth = slurm_jobs_from(work)
        per_script = Counter(truth.values())
        scripts = {path for (path,) in query(db, "SELECT path FROM scripts")}
        assert set(per_script) == scripts and len(scripts) == 3
        assert [count for count in per_script.values() if count > 1] == []  # 0 duplicates
        latest = {job_id for (job_id,) in query(db, "SELECT job_id FROM experiment_status")}
        assert latest == set(truth)
    finally:
        truth = truth or slurm_jobs_from(work)
        if truth:
            subprocess.run(["scancel", *truth], check=False)
