"""A template's own `#SBATCH --comment` reaches Slurm beside pbt-track's tag, and sync finds the job by the tag."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def test_the_users_comment_and_the_tag_are_both_on_the_job(tmp_path: Path) -> None:
    template = tmp_path / "commented.sh"
    template.write_text("#!/bin/bash\n#SBATCH --hold\n#SBATCH --comment=mine\n#SBATCH --job-name=pbt-track-held\n$CMD\n")
    work = tmp_path / "w"
    done = subprocess.run(
        [PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
         "--slurm_sbatch_template", str(template), "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
         "--train_dir", str(tmp_path / "t")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    rows = query(work / "pbt_tracker.db", "SELECT s.id, s.job_id, l.uuid FROM submissions s "
                 "JOIN experiments e ON e.id = s.experiment_id JOIN launches l ON l.id = e.launch_id ORDER BY s.id")
    job_ids = [job_id for _, job_id, _ in rows if job_id]
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(job_ids) == 3
        comments = subprocess.run(["squeue", "-h", "-o", "%i %k", "-j", ",".join(job_ids)],
                                  capture_output=True, text=True, check=True, timeout=60).stdout
        assert sorted(comments.splitlines()) == sorted(
            f"{job_id} pbt-track:{uuid}:{submission_id} mine" for submission_id, job_id, uuid in rows
        )

        # The submitter "died" before recording the first job's id: sync must find it by its tag.
        with sqlite3.connect(work / "pbt_tracker.db") as connection:
            connection.execute("UPDATE submissions SET job_id = NULL, state = 'SUBMITTING' WHERE id = ?", (rows[0][0],))
        synced = subprocess.run([PBT_TRACK, "sync", "--workdir", str(work)], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=300)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert query(work / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE id = ?", rows[0][0]) == [
            (rows[0][1],)
        ]
    finally:
        if job_ids:
            subprocess.run(["scancel", *job_ids], capture_output=True, timeout=60)
