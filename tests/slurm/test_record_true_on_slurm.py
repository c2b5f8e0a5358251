"""The record stays true on the real Slurm: requeue, suspension, a passing fault, and chains jobs submit themselves.

Where a one-node Slurm cannot produce a fault (an squeue that answers empty
once, a job already past MinJobAge), a stand-in on PATH wraps the real
command, and the test says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import query
from tests.slurm.conftest import wait_for_state
from tests.slurm.test_tracking_on_slurm import pbt_track, report

SLEEPER = "tests.fixtures.one_sleeper"


def submit(work: Path, tmp_path: Path, *extra: str, run: str = SLEEPER) -> None:
    done = pbt_track("submit", "--run", run, "--backend", "slurm", "--slurm_workdir", str(work),
                     "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "train"),
                     *extra, workdir=work)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def work(tmp_path: Path):
    work = tmp_path / "logs"
    yield work
    if (work / "pbt_tracker.db").exists():
        ids = [job_id for (job_id,) in query(work / "pbt_tracker.db",
                                             "SELECT job_id FROM submissions WHERE job_id IS NOT NULL")]
        subprocess.run(["scancel", *ids], capture_output=True)
        scripts = [path for (path,) in query(work / "pbt_tracker.db", "SELECT path FROM scripts")]
        for line in subprocess.run(["squeue", "--noheader", "-O", "JobID:|,Command:|"], capture_output=True,
                                   text=True).stdout.splitlines():
            job_id, _, command = line.partition("|")
            if command.rstrip("|") in scripts:
                subprocess.run(["scancel", job_id.strip()], capture_output=True)


def wait_for_accounting(job_id: str, state: str, timeout: float = 60) -> None:
    """Until sacct's newest row for the job holds `state`: what the sync is then expected to read from it."""
    deadline = time.monotonic() + timeout
    while True:
        argv = ["sacct", "--noheader", "--parsable2", "--allocations", "--duplicates", f"--jobs={job_id}",
                "--format=State"]
        rows = subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()
        if rows and rows[-1].split(" ")[0] == state:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"sacct shows job {job_id} as {rows} after {timeout} s, not {state}")
        time.sleep(0.5)


def first_job(work: Path) -> str:
    ((job_id,),) = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions ORDER BY id LIMIT 1")
    return job_id


def history(work: Path, job_id: str) -> list[str]:
    return [state for (state,) in query(
        work / "pbt_tracker.db",
        "SELECT c.state FROM state_changes AS c JOIN submissions AS s ON s.id = c.submission_id "
        "WHERE s.job_id = ? ORDER BY c.id", job_id,
    )]


def test_a_requeued_job_settles_on_its_newest_run_once_squeue_forgot_it(
    work: Path, tmp_path: Path, fake_bin
) -> None:
    """Stand-in: squeue keeps a finished job for MinJobAge (300 s here); the wrapper forgets this one at once."""
    submit(work, tmp_path, run="tests.fixtures.short_sleeper")
    job_id = first_job(work)
    wait_for_state(job_id, {"RUNNING"})
    assert pbt_track("sync", workdir=work).returncode == 0
    assert query(work / "pbt_tracker.db", "SELECT state, node IS NOT NULL, started_at IS NOT NULL FROM submissions"
                 ) == [("RUNNING", 1, 1)]
    subprocess.run(["scontrol", "requeue", job_id], check=True)
    wait_for_state(job_id, {"PENDING"})
    assert pbt_track("sync", workdir=work).returncode == 0  # pending again: nothing of the earlier run is shown
    assert query(work / "pbt_tracker.db", "SELECT state, node, started_at FROM submissions") == [
        ("PENDING", None, None)]
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True)  # no BeginTime wait
    # The second run ends COMPLETED, or FAILED when slurmd has not finished cleaning up the first one
    # (a launch failure, seen now and then on this one node): either way, it is the run that decides.
    info = wait_for_state(job_id, {"COMPLETED", "FAILED"}, timeout=120)
    newest = (info["JobState"], int(info["ExitCode"].split(":")[0]))
    wait_for_accounting(job_id, newest[0])  # slurmdbd may lag behind the controller on a loaded node
    real = shutil.which("squeue")
    fake_bin("squeue", f'#!/bin/bash\n{real} "$@" | grep -v "^{job_id}|"\nexit "${{PIPESTATUS[0]}}"\n')
    assert pbt_track("sync", workdir=work).returncode == 0
    ((state, code),) = query(work / "pbt_tracker.db", "SELECT state, exit_code FROM submissions")
    assert (state, code) == newest
    assert history(work, job_id)[-1] == newest[0]


def test_a_suspended_job_is_known_cancellable_and_in_scancel_sh(work: Path, tmp_path: Path) -> None:
    submit(work, tmp_path)
    job_id = first_job(work)
    wait_for_state(job_id, {"RUNNING"})
    subprocess.run(["scontrol", "suspend", job_id], check=True)
    wait_for_state(job_id, {"SUSPENDED"})
    rows = report(work, "--state", "SUSPENDED")
    assert [row["job_id"] for row in rows] == [job_id]
    assert job_id in (work / "scancel.sh").read_text()
    cancelled = pbt_track("cancel", "--all", workdir=work)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"(job {job_id})" in cancelled.stdout
    wait_for_state(job_id, {"CANCELLED"})


def test_an_empty_squeue_and_a_failing_sacct_leave_a_running_job_running(
    work: Path, tmp_path: Path, fake_bin
) -> None:
    """Stand-ins: squeue answering nothing with exit 0 (as briefly after a controller restart), sacct failing."""
    submit(work, tmp_path)
    job_id = first_job(work)
    wait_for_state(job_id, {"RUNNING"})
    assert pbt_track("sync", workdir=work).returncode == 0
    fake_bin("squeue", "#!/bin/bash\nexit 0\n")
    fake_bin("sacct", "#!/bin/bash\necho 'sacct: error: slurmdbd unreachable' >&2\nexit 1\n")
    for _ in range(3):
        done = pbt_track("sync", workdir=work)
        assert done.returncode == 0, done.stderr
        assert "squeue listed no job at all" in done.stderr
    assert query(work / "pbt_tracker.db", "SELECT state FROM submissions") == [("RUNNING",)]
    assert job_id in (work / "scancel.sh").read_text()


CHAINING_TEMPLATE = """#!/bin/bash
#SBATCH --job-name=chain
timeout $TIMEOUT $CMD
if [[ $$? -eq 124 ]]; then
    sbatch $PARTITION--gres=gpu:$GPU -c $CPU --parsable --output $FILENAME-slurm-%j.out $FILENAME
fi
"""


def test_a_chain_started_by_the_job_itself_is_followed_and_cancelled(work: Path, tmp_path: Path) -> None:
    """The original launcher's time-limit template: on `timeout`'s 124 the job submits its own script again."""
    template = tmp_path / "sbatch_timeout.sh"
    template.write_text(CHAINING_TEMPLATE)
    submit(work, tmp_path, "--slurm_sbatch_template", str(template), "--slurm_timeout", "8")
    db = work / "pbt_tracker.db"
    deadline = time.monotonic() + 90
    while query(db, "SELECT count(*) FROM submissions WHERE origin = 'chain'") == [(0,)]:
        assert time.monotonic() < deadline, "no chained job was found"
        assert pbt_track("sync", workdir=work).returncode == 0
        time.sleep(1)
    ((first, first_id), (second, parent, origin, log)) = (
        query(db, "SELECT job_id, id FROM submissions WHERE attempt = 1")[0],
        query(db, "SELECT job_id, parent_submission_id, origin, log_path FROM submissions WHERE attempt = 2")[0],
    )
    assert (parent, origin) == (first_id, "chain")
    script = query(db, "SELECT path FROM scripts")[0][0]
    assert log == f"{script}-slurm-%j.out"
    rows = report(work)
    assert [(row["attempt"], row["job_id"]) for row in rows] == [(2, second)]
    assert second in (work / "scancel.sh").read_text()
    name = rows[0]["experiment"]
    cancelled = pbt_track("cancel", "--experiment", name, workdir=work)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Cancelled {name} (job {second})" in cancelled.stdout
    wait_for_state(second, {"CANCELLED"})
    time.sleep(2)
    assert pbt_track("sync", workdir=work).returncode == 0
    live = [job_id for (job_id,) in query(db, "SELECT job_id FROM submissions WHERE state IN "
                                              "('PENDING', 'RUNNING', 'SUBMITTED', 'UNKNOWN')")]
    assert live == [], f"still running after cancel: {live}"
    assert json.loads(query(db, "SELECT argv FROM submissions WHERE attempt = 2")[0][0]) == ["sbatch", script]
    assert first != second


def jobs_running(script: str) -> list[str]:
    """Ids of the user's queued or running jobs that run `script`, as squeue shows them now."""
    listing = subprocess.run(["squeue", "--noheader", "-t", "PD,R,CF,CG", "-O", "JobID:|,Command:|"],
                             capture_output=True, text=True, check=True).stdout
    return [job_id.strip() for job_id, _, command in (line.partition("|") for line in listing.splitlines())
            if command.rstrip("|") == script]


def test_cancel_reaches_the_successor_a_job_sent_since_the_last_sync(work: Path, tmp_path: Path) -> None:
    """No sync between the job's own sbatch and the cancel: cancel reads the record up to date before it acts.

    The successor is sent held: started, its own guard would write it down before the cancel (and did, on a slow
    squeue), and the record would already know what this test wants cancel to find by itself.
    """
    template = tmp_path / "sbatch_timeout.sh"
    template.write_text(CHAINING_TEMPLATE.replace("    sbatch ", "    sbatch --hold ", 1))
    assert "sbatch --hold " in template.read_text()
    submit(work, tmp_path, "--slurm_sbatch_template", str(template), "--slurm_timeout", "5")
    db = work / "pbt_tracker.db"
    first = first_job(work)
    ((script,),) = query(db, "SELECT path FROM scripts")
    deadline = time.monotonic() + 90
    while first in jobs_running(script) or not jobs_running(script):  # until it has sent its successor and ended
        assert time.monotonic() < deadline, "the job sent no successor"
        time.sleep(0.5)
    assert query(db, "SELECT count(*) FROM submissions") == [(1,)]

    cancelled = pbt_track("cancel", "--experiment", "nap", workdir=work)

    assert cancelled.returncode == 0, cancelled.stderr
    ((name,),) = query(db, "SELECT name FROM experiments")
    reached = query(db, "SELECT job_id, origin FROM submissions WHERE cancel_requested_at IS NOT NULL ORDER BY id")
    assert reached and {origin for _, origin in reached} == {"chain"}
    assert cancelled.stdout.splitlines() == [f"Cancelled {name} (job {job_id})" for job_id, _ in reached]
    deadline = time.monotonic() + 30
    while jobs_running(script):
        assert time.monotonic() < deadline, f"still running after cancel: {jobs_running(script)}"
        time.sleep(0.5)


def test_the_partition_and_time_limit_slurm_gave_a_job_are_recorded_and_reported(work: Path, tmp_path: Path) -> None:
    """The template sets the limit (#SBATCH --time=$TIMEOUT), the option the partition: squeue says both."""
    template = tmp_path / "sbatch_time.sh"
    template.write_text("#!/bin/bash\n#SBATCH --time=$TIMEOUT\n$CMD\n")
    submit(work, tmp_path, "--slurm_sbatch_template", str(template), "--slurm_timeout", "30:00",
           "--slurm_partition", "debug")
    (job_id,) = [row["job_id"] for row in report(work)]
    wait_for_state(job_id, {"RUNNING"})
    done = pbt_track("report", "-o", "job_id,partition,time_limit", "--format", "csv", workdir=work)
    assert (done.returncode, done.stdout) == (0, f"job_id,partition,time_limit\n{job_id},debug,30:00\n")
    (row,) = report(work)
    assert row["time_left"] is not None and row["time_left"] <= "0:30:00" and row["time_left"].startswith("0:")
