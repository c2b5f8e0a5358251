"""On the real one-node Slurm: squeue shows each job by its experiment's name, and sacct finds a job by that name.

This cluster stores no job comment in accounting (AccountingStoreFlags is
unset), so the name is the only identity sacct keeps.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO_ROOT, query
from tests.slurm.conftest import wait_for_state

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def submit(work: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run(PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
               "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t"), *extra)


def names_in(work: Path) -> dict[str, str]:
    """Each submission's job name, as sbatch was given it."""
    rows = query(work / "pbt_tracker.db", "SELECT s.argv, e.name FROM submissions s JOIN experiments e "
                 "ON e.id = s.experiment_id ORDER BY s.id")
    return {experiment: next(arg.split("=", 1)[1] for arg in json.loads(argv) if arg.startswith("--job-name="))
            for argv, experiment in rows}


def test_squeue_shows_each_job_by_its_experiments_name_and_sacct_finds_it_by_that_name(tmp_path: Path) -> None:
    work = tmp_path / "w"
    done = submit(work, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    job_ids = [job_id for (job_id,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions ORDER BY id")]
    names = names_in(work)
    assert [name.split(".pbt-")[0] for name in names.values()] == list(names)

    listed = subprocess.run(["squeue", "--noheader", "--states=all", "--jobs=" + ",".join(job_ids), "--format=%i %j"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    assert sorted(listed.split("\n")[:-1]) == sorted(f"{job_id} {name}" for job_id, name in zip(job_ids, names.values()))

    for job_id in job_ids:
        wait_for_state(job_id, {"COMPLETED", "FAILED"})
    for job_id, name in zip(job_ids, names.values()):
        found = ""
        for _ in range(30):  # accounting hears of a job a moment after the controller
            found = subprocess.run(["sacct", "--noheader", "--parsable2", "--allocations", f"--name={name}",
                                    "--starttime=now-1hour", "--format=JobID,JobName"],
                                   capture_output=True, text=True, timeout=60, check=True).stdout
            if found:
                break
            time.sleep(1)
        assert found == f"{job_id}|{name}\n"


def test_a_submission_whose_answer_was_lost_is_found_by_sacct_through_its_name(tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """Stand-ins around the real commands: sbatch queues the second job and then says "Socket timed out", and
    squeue answers nothing at all (as after a controller restart), so only sacct can find the job."""
    real_sbatch = shutil.which("sbatch")
    fake_bin("sbatch", f"""#!/bin/sh
n=$(cat "$0.n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$0.n"
if [ $n = 2 ]; then {real_sbatch} "$@" > "$0.lost"; echo "sbatch: error: Batch job submission failed: Socket timed out" >&2; exit 1; fi
exec {real_sbatch} "$@"
""")
    work = tmp_path / "w"
    done = submit(work, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "01_echo_pbt may have been submitted (" in done.stdout
    lost_job = Path(shutil.which("sbatch") or "").with_suffix(".lost").read_text().strip()
    fake_bin("squeue", "#!/bin/sh\nexit 0\n")

    state = None
    for _ in range(30):
        synced = run(PBT_TRACK, "sync", "--workdir", str(work))
        assert synced.returncode == 0, synced.stderr
        ((state, job_id),) = query(work / "pbt_tracker.db", "SELECT state, job_id FROM submissions WHERE id = 2")
        if job_id is not None:
            break
        time.sleep(1)
    assert job_id == lost_job
    assert state != "SUBMIT_FAILED"
    wait_for_state(lost_job, {"COMPLETED", "FAILED"})
