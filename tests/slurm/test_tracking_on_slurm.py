"""Days after a launch, from other shells: report, cancel and resubmit-failed on the real Slurm.

Each step is a separate `pbt-track` process, as a user would run them. The
whole story runs twice: with Slurm's accounting (sacct) on, and with it off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, query
from tests.slurm.conftest import job_info, wait_for_state

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
START_SLURM = REPO_ROOT / "scripts" / "slurm" / "start-local-slurm.sh"


def pbt_track(*argv: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PBT_TRACK_WORKDIR": str(workdir)}
    return subprocess.run([PBT_TRACK, *argv], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)


def report(workdir: Path, *extra: str) -> list[dict]:
    done = pbt_track("report", "--format", "json", *extra, workdir=workdir)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for_report(workdir: Path, wanted: dict[str, str], timeout: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = report(workdir)
        seen = {row["experiment"]: row["state"] for row in rows}
        if all(seen.get(name) == state for name, state in wanted.items()):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"states after {timeout} s: {seen}, wanted {wanted}")
        time.sleep(1)


def accounting_works() -> bool:
    return subprocess.run(["sacct", "--noheader", "-j", "1"], capture_output=True).returncode == 0


@pytest.fixture(params=["accounting on", "accounting off"])
def accounting(request: pytest.FixtureRequest) -> str:
    if request.param == "accounting off":
        subprocess.run([str(START_SLURM)], env={**os.environ, "SLURM_ACCOUNTING": "0"}, check=True,
                       capture_output=True, timeout=600)
        request.addfinalizer(
            lambda: subprocess.run([str(START_SLURM)], env={**os.environ, "SLURM_ACCOUNTING": "1"}, check=True,
                                   capture_output=True, timeout=600)
        )
        assert not accounting_works()
    elif not accounting_works():
        subprocess.run([str(START_SLURM)], env={**os.environ, "SLURM_ACCOUNTING": "1"}, check=True,
                       capture_output=True, timeout=600)
    return request.param


@pytest.fixture
def work(tmp_path: Path):
    """The workdir; whatever the test leaves running is cancelled afterwards."""
    work = tmp_path / "logs"
    yield work
    if (work / "pbt_tracker.db").exists():
        job_ids = [job_id for (job_id,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE job_id IS NOT NULL")]
        subprocess.run(["scancel", *job_ids], capture_output=True)


def test_report_cancel_and_resubmit_failed_across_sessions(tmp_path: Path, work: Path, accounting: str) -> None:
    done = pbt_track("submit", "--run", "tests.fixtures.mixed_outcomes", "--backend", "slurm",
                     "--slurm_workdir", str(work), "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
                     "--train_dir", str(tmp_path / "train"), workdir=work)
    assert done.returncode == 0, done.stdout + done.stderr

    job_ids = dict(query(work / "pbt_tracker.db", "SELECT e.name, s.job_id FROM submissions s "
                                                  "JOIN experiments e ON e.id = s.experiment_id"))
    wait_for_state(job_ids["00_mixed_out_ok"], {"COMPLETED"})
    wait_for_state(job_ids["01_mixed_out_flaky"], {"FAILED"})
    for name in ("02_mixed_out_long", "03_mixed_out_long"):
        wait_for_state(job_ids[name], {"RUNNING"})
    synced = pbt_track("sync", workdir=work)
    assert synced.stdout == "Asked about 4 job(s) in 2 scheduler call(s); 4 changed.\n"
    if accounting == "accounting off":
        assert synced.stderr == (
            "Note: sacct is not available (Slurm accounting storage is disabled): jobs Slurm has already "
            "forgotten are shown as UNKNOWN, so final states may be incomplete\n"
        )
    else:
        assert synced.stderr == ""

    rows = wait_for_report(work, {"00_mixed_out_ok": "COMPLETED", "01_mixed_out_flaky": "FAILED",
                                  "02_mixed_out_long": "RUNNING", "03_mixed_out_long": "RUNNING"})
    by_name = {row["experiment"]: row for row in rows}
    assert (by_name["00_mixed_out_ok"]["exit_code"], by_name["01_mixed_out_flaky"]["exit_code"]) == (0, 3)
    assert by_name["02_mixed_out_long"]["exit_code"] is None
    assert Path(by_name["01_mixed_out_flaky"]["log"]).read_text().endswith("\n01_mixed_out_flaky: flaky\n")

    table = pbt_track("report", workdir=work)
    assert table.returncode == 0
    assert table.stdout.splitlines()[-1] == "4 experiments: 1 COMPLETED, 1 FAILED, 2 RUNNING"

    long_job = by_name["02_mixed_out_long"]["job_id"]
    other_long_job = by_name["03_mixed_out_long"]["job_id"]
    cancelled = pbt_track("cancel", "--experiment", "02_mixed_out_long", workdir=work)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout == f"Cancelled 02_mixed_out_long (job {long_job})\n"
    assert wait_for_state(long_job, {"CANCELLED"})["JobState"] == "CANCELLED"
    assert job_info(other_long_job)["JobState"] == "RUNNING"
    queued = subprocess.run(["squeue", "--noheader", "--format=%i"], capture_output=True, text=True).stdout.split()
    assert long_job not in queued and other_long_job in queued
    assert pbt_track("sync", workdir=work).returncode == 0
    assert (work / "scancel.sh").read_text().splitlines()[-1] == f"scancel {other_long_job}"

    resubmitted = pbt_track("resubmit-failed", workdir=work)
    assert resubmitted.returncode == 0, resubmitted.stderr
    (line,) = [line for line in resubmitted.stdout.splitlines() if line.startswith("Submitted")]
    assert line.startswith("Submitted 01_mixed_out_flaky as job ")
    again = pbt_track("resubmit-failed", workdir=work)
    assert again.stdout == "Nothing to resubmit: no experiment's latest attempt failed.\n"

    wait_for_report(work, {"01_mixed_out_flaky": "COMPLETED"})
    attempts = report(work, "--all-attempts", "--experiment", "01_mixed_out_flaky")
    assert [(row["attempt"], row["state"], row["exit_code"]) for row in attempts] == [
        (1, "FAILED", 3), (2, "COMPLETED", 0)
    ]
    assert attempts[0]["job_id"] != attempts[1]["job_id"]

    db = work / "pbt_tracker.db"
    assert query(db, "SELECT experiment, attempt, state, exit_code FROM experiment_status ORDER BY experiment") == [
        ("00_mixed_out_ok", 1, "COMPLETED", 0),
        ("01_mixed_out_flaky", 2, "COMPLETED", 0),
        ("02_mixed_out_long", 1, "CANCELLED", 0),
        ("03_mixed_out_long", 1, "RUNNING", None),
    ]
    history = query(db, "SELECT c.state FROM state_changes c JOIN submissions s ON s.id = c.submission_id "
                        "JOIN experiments e ON e.id = s.experiment_id "
                        "WHERE e.name = '01_mixed_out_flaky' AND s.attempt = 1 ORDER BY c.id")
    assert [state for (state,) in history][:2] == ["SUBMITTING", "SUBMITTED"]
    assert history[-1] == ("FAILED",)
    assert query(db, "SELECT job_ids FROM cancellations") == [(json.dumps([long_job]),)]

    everything = pbt_track("cancel", "--all", workdir=work)
    assert everything.stdout == f"Cancelled 03_mixed_out_long (job {other_long_job})\n"
    wait_for_state(other_long_job, {"CANCELLED"})


def test_a_slow_sacct_is_given_up_on_and_squeue_still_settles_the_jobs(tmp_path: Path, work: Path, fake_bin) -> None:
    """Fake sacct: one that hangs, as on a busy accounting database (a one-node Slurm answers at once)."""
    done = pbt_track("submit", "--run", "tests.fixtures.quick_outcomes", "--backend", "slurm", "--slurm_workdir",
                     str(work), "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir",
                     str(tmp_path / "train"), workdir=work)
    assert done.returncode == 0, done.stdout + done.stderr
    for (job_id,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions"):
        wait_for_state(job_id, {"COMPLETED", "FAILED"})
    fake_bin("sacct", "#!/bin/sh\nexec sleep 30\n")
    env = {**os.environ, "PBT_TRACK_WORKDIR": str(work), "PBT_TRACK_SACCT_TIMEOUT": "1"}
    synced = subprocess.run([PBT_TRACK, "sync"], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert synced.returncode == 0, synced.stderr
    assert synced.stderr == (
        "Note: sacct is not available (sacct did not answer within 1 s): jobs Slurm has already forgotten "
        "are shown as UNKNOWN, so final states may be incomplete\n"
    )
    assert {row["experiment"]: (row["state"], row["exit_code"]) for row in report(work, "--no-sync")} == {
        "00_quick_out_ok": ("COMPLETED", 0),
        "01_quick_out_flaky": ("FAILED", 3),
        "02_quick_out_ok": ("COMPLETED", 0),
    }
