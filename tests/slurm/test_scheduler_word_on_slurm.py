"""A job's state is what Slurm says of that job: a skewed clock, a lost answer or a cancel that did nothing mislead no one.

One node cannot skew its own clock against itself, forget a job in
accounting, or have scancel accept a job and not cancel it: stand-ins on
PATH wrap the real sacct, squeue and scancel to play those faults, and each
test says which. What the record must end up holding is then checked against
the real Slurm.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import query
from tests.slurm.conftest import wait_for_state
from tests.slurm.test_record_true_on_slurm import first_job, history, submit, wait_for_accounting, work  # noqa: F401
from tests.slurm.test_tracking_on_slurm import pbt_track, report

SHIFTED_SACCT = """#!{python}
import re, subprocess, sys
from datetime import datetime, timedelta

done = subprocess.run([{real!r}, *sys.argv[1:]], capture_output=True, text=True)


def shifted(match):
    moment = datetime.fromisoformat(match.group(0)) + timedelta(seconds={shift})
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


sys.stdout.write(re.sub(r"\\d{{4}}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d", shifted, done.stdout))
sys.stderr.write(done.stderr)
sys.exit(done.returncode)
"""


def shift_sacct(fake_bin, seconds: int) -> None:  # type: ignore[no-untyped-def]
    """Stand-in: sacct as the real one answers, every time in it moved by `seconds` (a controller's clock off ours)."""
    fake_bin("sacct", SHIFTED_SACCT.format(python=sys.executable, real=shutil.which("sacct"), shift=seconds))


def forget_in_squeue(fake_bin, job_id: str) -> None:  # type: ignore[no-untyped-def]
    """Stand-in: squeue without the job's line, as once MinJobAge has passed (300 s here)."""
    real = shutil.which("squeue")
    fake_bin("squeue", f'#!/bin/bash\n{real} "$@" | grep -v "^{job_id}|"\nexit "${{PIPESTATUS[0]}}"\n')


def finished_job(work: Path, tmp_path: Path) -> str:
    submit(work, tmp_path, run="tests.fixtures.short_sleeper")
    job_id = first_job(work)
    wait_for_state(job_id, {"COMPLETED"}, timeout=120)
    wait_for_accounting(job_id, "COMPLETED")
    return job_id


@pytest.mark.parametrize("shift", [-600, 600])
def test_a_scheduler_clock_ten_minutes_off_changes_no_state_and_its_times_are_marked(
    work: Path, tmp_path: Path, fake_bin, shift: int  # noqa: F811
) -> None:
    """Stand-ins: sacct with every time moved by ±600 s, squeue that has forgotten the finished job."""
    job_id = finished_job(work, tmp_path)
    forget_in_squeue(fake_bin, job_id)
    shift_sacct(fake_bin, shift)
    done = pbt_track("sync", workdir=work)
    assert done.returncode == 0, done.stderr
    db = work / "pbt_tracker.db"
    assert query(db, "SELECT state, exit_code FROM submissions") == [("COMPLETED", 0)]
    ((skew,),) = query(db, "SELECT clock_skew FROM submissions")
    # The times recorded are Slurm's, marked as such: its clock is at least a minute off this host's.
    assert skew is not None and (skew <= -60 if shift < 0 else skew >= 60), skew
    (row,) = report(work)
    assert row["state"] == "COMPLETED" and row["clock_skew"] == skew
    shown = pbt_track("show", row["experiment"], workdir=work)
    assert shown.returncode == 0, shown.stderr
    ahead = "ahead of" if shift > 0 else "behind"
    assert f"(times from Slurm's clock, at least {abs(skew)} s {ahead} this host's)" in shown.stdout


def test_a_lost_job_that_sacct_reports_later_is_corrected(
    work: Path, tmp_path: Path, fake_bin  # noqa: F811
) -> None:
    """Stand-ins: squeue that has forgotten the job and sacct that drops its lines, until sacct answers again.

    The job is made to look unseen for longer than MinJobAge (300 s here) by moving the record's first miss
    back, rather than by waiting.
    """
    job_id = finished_job(work, tmp_path)
    forget_in_squeue(fake_bin, job_id)
    real = shutil.which("sacct")
    silent = fake_bin("sacct", f'#!/bin/bash\n{real} "$@" | grep -v "^{job_id}|"\nexit "${{PIPESTATUS[0]}}"\n')
    db = work / "pbt_tracker.db"
    assert pbt_track("sync", workdir=work).returncode == 0
    assert query(db, "SELECT state FROM submissions") == [("UNKNOWN",)]
    import sqlite3

    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE submissions SET unseen_since = datetime('now', '-10 minutes')")
    assert pbt_track("sync", workdir=work).returncode == 0
    assert query(db, "SELECT state FROM submissions") == [("LOST",)]
    silent.unlink()  # sacct answers for the job again
    assert pbt_track("sync", workdir=work).returncode == 0
    assert query(db, "SELECT state, exit_code FROM submissions") == [("COMPLETED", 0)]
    assert history(work, job_id)[-2:] == ["LOST", "COMPLETED"]


def test_a_cancel_that_did_nothing_leaves_the_job_running_and_in_scancel_sh(
    work: Path, tmp_path: Path, fake_bin  # noqa: F811
) -> None:
    """Stand-ins: scancel that exits 0 without cancelling, then squeue answering empty and sacct failing once."""
    submit(work, tmp_path)
    job_id = first_job(work)
    wait_for_state(job_id, {"RUNNING"})
    assert pbt_track("sync", workdir=work).returncode == 0
    noop = fake_bin("scancel", "#!/bin/bash\nexit 0\n")
    empty = fake_bin("squeue", "#!/bin/bash\nexit 0\n")
    failing = fake_bin("sacct", "#!/bin/bash\necho 'sacct: error: slurmdbd unreachable' >&2\nexit 1\n")
    cancelled = pbt_track("cancel", "--all", workdir=work)
    assert cancelled.returncode == 0, cancelled.stderr
    db = work / "pbt_tracker.db"
    assert query(db, "SELECT state, cancel_requested_at IS NOT NULL FROM submissions") == [("RUNNING", 1)]
    assert job_id in (work / "scancel.sh").read_text()
    for stand_in in (noop, empty, failing):
        stand_in.unlink()
    assert pbt_track("sync", workdir=work).returncode == 0  # the real Slurm: still running
    assert query(db, "SELECT state FROM submissions") == [("RUNNING",)]
    assert job_id in (work / "scancel.sh").read_text()
    (row,) = report(work)
    assert (row["state"], row["cancel_requested"]) == ("RUNNING", True)
    table = pbt_track("report", "--no-sync", workdir=work)
    assert "RUNNING (cancel requested)" in table.stdout
    shown = pbt_track("show", row["experiment"], workdir=work)
    assert "cancel requested" in shown.stdout and "Slurm still shows it RUNNING" in shown.stdout


def test_a_real_cancel_ends_cancelled_on_slurms_own_answer(work: Path, tmp_path: Path) -> None:  # noqa: F811
    submit(work, tmp_path)
    job_id = first_job(work)
    wait_for_state(job_id, {"RUNNING"})
    cancelled = pbt_track("cancel", "--all", workdir=work)
    assert cancelled.returncode == 0, cancelled.stderr
    wait_for_state(job_id, {"CANCELLED"})
    assert pbt_track("sync", workdir=work).returncode == 0
    db = work / "pbt_tracker.db"
    assert query(db, "SELECT state FROM submissions") == [("CANCELLED",)]
    ((detail,),) = query(db, "SELECT detail FROM state_changes WHERE state = 'CANCELLED'")
    assert detail in ("squeue", "sacct"), detail  # the scheduler's own word, not scancel's exit code
    assert job_id not in (work / "scancel.sh").read_text()
