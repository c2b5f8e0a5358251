"""The real one-node Slurm: started by scripts/slurm/start-local-slurm.sh before the tests run.

Outside CI these tests skip when no cluster answers. In CI (CI=true) or with
PBT_TRACK_REQUIRE_SLURM=1 a missing cluster fails them: skipping is not passing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest


def _cluster_problem() -> str | None:
    if shutil.which("sbatch") is None:
        return "sbatch is not installed (run scripts/slurm/start-local-slurm.sh)"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    if "is UP" not in ping.stdout:
        return f"slurmctld is not up: {ping.stdout.strip() or ping.stderr.strip()}"
    states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30).stdout.split()
    if not set(states) & {"idle", "mixed", "allocated", "completing"}:
        return f"no Slurm node is usable (states: {' '.join(states) or 'none'})"
    return None


def _must_run() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("PBT_TRACK_REQUIRE_SLURM") == "1"


@pytest.fixture(scope="session", autouse=True)
def slurm_cluster() -> None:
    problem = _cluster_problem()
    if problem is None:
        return
    if _must_run():
        pytest.fail(f"the real-Slurm tests must run here, but {problem}", pytrace=False)
    pytest.skip(problem)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/slurm/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.slurm)


def job_info(job_id: str) -> dict[str, str]:
    """`scontrol show job -o` as a dict (values that hold spaces are cut, which these tests never read)."""
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, check=True
    ).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def wait_for_state(job_id: str, wanted: set[str], timeout: float = 90) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    info = job_info(job_id)
    while info["JobState"] not in wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {info['JobState']} after {timeout} s, not {wanted}")
        time.sleep(0.5)
        info = job_info(job_id)
    return info


def start_requeued_now(job_id: str, settle: float = 3.0) -> None:
    """Let a requeued job start at once instead of after Slurm's hold (its BeginTime), once the node is done with
    its earlier run.

    slurmd refuses to launch a job it killed a moment ago ("already killed, do not launch batch job"), and the job
    then ends FAILED without running: seen on this one node when StartTime=now came within a second of the requeue.
    """
    deadline = time.monotonic() + 60
    while "REQUEUED" not in subprocess.run(
            ["sacct", "--noheader", "--parsable2", "--allocations", "--duplicates", f"--jobs={job_id}",
             "--format=State"], capture_output=True, text=True).stdout:
        if time.monotonic() > deadline:
            raise AssertionError(f"sacct shows no end of job {job_id}'s run before its requeue after 60 s")
        time.sleep(0.5)
    time.sleep(settle)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True, capture_output=True)



def sacct_records(job_id: str) -> list[str] | None:
    """The records sacct holds of a job, by id (an array's waiting tasks as `7_[0-2]`); None without accounting."""
    asked = subprocess.run(["sacct", "--noheader", "--parsable2", "--allocations", f"--jobs={job_id}",
                            "--format=JobID"], capture_output=True, text=True,
                           env={**os.environ, "SLURM_BITSTR_LEN": "0"})
    return asked.stdout.split() if asked.returncode == 0 else None


def wait_for_sacct_record(job_id: str, record: str, timeout: float = 60) -> None:
    """Wait until sacct holds `record` of a job, where the cluster keeps accounting at all.

    The accounting database hears of a job a moment after the controller: a test that needs sacct's record of
    a job waits for it here, rather than depending on which side of that moment it runs.
    """
    deadline = time.monotonic() + timeout
    while (records := sacct_records(job_id)) is not None and record not in records:
        if time.monotonic() > deadline:
            raise AssertionError(f"sacct holds no record {record} of job {job_id} after {timeout} s")
        time.sleep(0.5)
