"""Job arrays on the real Slurm: one sbatch for a run, and every experiment still its own job on record."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import FIXTURES, REPO_ROOT, query
from tests.slurm.conftest import job_info, sacct_records, wait_for_sacct_record, wait_for_state
from tests.slurm.test_tracking_on_slurm import PBT_TRACK, pbt_track, report, wait_for_report


def array_launch(tmp_path: Path, work: Path, run: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return pbt_track("submit", "--run", run, "--backend", "slurm", "--slurm_workdir", str(work), "--slurm-array",
                     "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "train"),
                     "-v", *extra, workdir=work)


def held_array_launch(tmp_path: Path, work: Path, experiments: int) -> None:
    """A launch of `experiments` held jobs that exit at once, sent as arrays, from the benchmarks' run."""
    done = subprocess.run(
        [PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm",
         "--workdir", str(work), "--slurm-array", "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
         "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"), "--train_dir", str(tmp_path / "t")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PBT_TRACK_BENCH_EXPERIMENTS": str(experiments)},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr


def cancel_everything(work: Path) -> None:
    arrays = [job_id for (job_id,) in query(work / "pbt_tracker.db",
                                            "SELECT job_id FROM slurm_arrays WHERE job_id IS NOT NULL")]
    if arrays:
        subprocess.run(["scancel", *arrays], capture_output=True)


def test_a_run_goes_out_as_one_array_whose_tasks_keep_their_own_id_log_and_cancel(tmp_path: Path) -> None:
    work = tmp_path / "logs"
    try:
        done = array_launch(tmp_path, work, "tests.fixtures.mixed_outcomes")
        assert done.returncode == 0, done.stdout + done.stderr
        db = work / "pbt_tracker.db"
        ((array_job, argv, task_count),) = query(db, "SELECT job_id, argv, task_count FROM slurm_arrays")
        assert [line for line in done.stdout.splitlines() if line.startswith("Executing ")] == [
            f"Executing {' '.join(json.loads(argv))}"
        ]
        assert "--array=0-3" in json.loads(argv) and task_count == 4
        assert f"Submitted 4 of 4 experiment(s): jobs {array_job}_[0-3]" in done.stdout
        assert f"Cancel them all: {work / 'scancel.sh'}" in done.stdout
        ids = dict(query(db, "SELECT e.name, s.job_id FROM submissions s JOIN experiments e ON e.id = s.experiment_id"))
        assert ids == {"00_mixed_out_ok": f"{array_job}_0", "01_mixed_out_flaky": f"{array_job}_1",
                       "02_mixed_out_long": f"{array_job}_2", "03_mixed_out_long": f"{array_job}_3"}

        wait_for_state(ids["01_mixed_out_flaky"], {"FAILED"})
        wait_for_state(ids["03_mixed_out_long"], {"RUNNING"})
        rows = wait_for_report(work, {"00_mixed_out_ok": "COMPLETED", "01_mixed_out_flaky": "FAILED",
                                      "02_mixed_out_long": "RUNNING", "03_mixed_out_long": "RUNNING"})
        by_name = {row["experiment"]: row for row in rows}
        assert by_name["01_mixed_out_flaky"]["exit_code"] == 3
        flaky_log = Path(by_name["01_mixed_out_flaky"]["log"])
        assert flaky_log == work / f"sbatch_01_mixed_out_flaky.sh-slurm-{array_job}_1.out"
        assert flaky_log.read_text().endswith("\n01_mixed_out_flaky: flaky\n")
        assert Path(by_name["00_mixed_out_ok"]["log"]).read_text().endswith("\n00_mixed_out_ok: ok\n")

        cancelled = pbt_track("cancel", "--experiment", "02_mixed_out_long", workdir=work)
        assert cancelled.stdout == f"Cancelled 02_mixed_out_long (job {array_job}_2)\n"
        assert wait_for_state(f"{array_job}_2", {"CANCELLED"})["JobState"] == "CANCELLED"
        assert job_info(f"{array_job}_3")["JobState"] == "RUNNING"

        resubmitted = pbt_track("resubmit-failed", workdir=work)
        assert resubmitted.returncode == 0, resubmitted.stderr
        (line,) = [line for line in resubmitted.stdout.splitlines() if line.startswith("Submitted")]
        new_job = line.removeprefix("Submitted 01_mixed_out_flaky as job ")
        assert new_job.isdigit()
        wait_for_report(work, {"01_mixed_out_flaky": "COMPLETED"})
        attempts = report(work, "--all-attempts", "--experiment", "01_mixed_out_flaky")
        assert [(row["attempt"], row["job_id"], row["state"]) for row in attempts] == [
            (1, f"{array_job}_1", "FAILED"), (2, new_job, "COMPLETED")
        ]
        assert (work / "scancel.sh").read_text().splitlines()[-1] == f"scancel {array_job}_3"
    finally:
        cancel_everything(work)


def test_array_limit_lets_slurm_run_at_most_that_many_tasks_at_once(tmp_path: Path) -> None:
    work = tmp_path / "logs"
    try:
        done = array_launch(tmp_path, work, "tests.fixtures.pbt_echo", "--slurm_array_limit", "2",
                            "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"))
        assert done.returncode == 0, done.stdout + done.stderr
        ((array_job,),) = query(work / "pbt_tracker.db", "SELECT job_id FROM slurm_arrays")
        info = job_info(array_job)
        assert (info["ArrayTaskId"], info["ArrayTaskThrottle"]) == ("0-2%2", "2")
        synced = pbt_track("sync", workdir=work)
        assert synced.stdout == "Asked about 3 job(s) in 1 scheduler call(s); 3 changed.\n"
        assert [row["state"] for row in report(work, "--no-sync")] == ["PENDING"] * 3
    finally:
        cancel_everything(work)


def test_a_group_larger_than_max_array_size_is_split_into_arrays_slurm_accepts(tmp_path: Path) -> None:
    work = tmp_path / "logs"
    try:
        held_array_launch(tmp_path, work, 1003)
        db = work / "pbt_tracker.db"
        arrays = query(db, "SELECT job_id, task_count FROM slurm_arrays ORDER BY id")
        assert [count for _, count in arrays] == [1001, 2]
        assert query(db, "SELECT count(*), count(DISTINCT job_id) FROM submissions WHERE state = 'SUBMITTED'") == [
            (1003, 1003)
        ]
        second = arrays[1][0]
        assert query(db, "SELECT e.position, s.job_id FROM submissions s JOIN experiments e "
                         "ON e.id = s.experiment_id WHERE s.array_task IS NOT NULL ORDER BY e.position DESC "
                         "LIMIT 2") == [(1002, f"{second}_1"), (1001, f"{second}_0")]
        assert job_info(f"{second}_1")["JobState"] == "PENDING"

        first = arrays[0][0]
        scancel_sh = work / "scancel.sh"
        assert scancel_sh.read_text().splitlines()[-1] == f"scancel '{first}_[0-1000]' '{second}_[0-1]'"
        assert subprocess.run([str(scancel_sh)], capture_output=True).returncode == 0
        pending = subprocess.run(["squeue", "--noheader", "--array", "--states=PENDING", f"--jobs={first},{second}",
                                  "--format=%i"], capture_output=True, text=True).stdout.split()
        assert pending == []
    finally:
        cancel_everything(work)


def test_an_array_that_reached_slurm_after_its_submitter_died_is_found_by_sync(tmp_path: Path, fake_bin) -> None:
    """Fake sbatch: the real one, then the submitter is killed before it can read the answer.

    The kill lands at one chosen point, the widest window there is; the
    random-kill trials of test_crash_safety cover the one-job-per-sbatch mode.
    """
    work = tmp_path / "logs"
    real_sbatch = shutil.which("sbatch")
    fake_bin("sbatch", f"""#!/bin/bash
{real_sbatch} "$@" >/dev/null
kill -9 $PPID
exit 0
""")
    try:
        done = array_launch(tmp_path, work, "tests.fixtures.pbt_echo",
                            "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"))
        assert done.returncode == -9
        db = work / "pbt_tracker.db"
        assert query(db, "SELECT state, count(*) FROM submissions GROUP BY state") == [("SUBMITTING", 3)]

        synced = pbt_track("sync", workdir=work)
        assert synced.returncode == 0, synced.stderr
        ((array_job,),) = query(db, "SELECT DISTINCT substr(job_id, 1, instr(job_id, '_') - 1) FROM submissions")
        assert query(db, "SELECT array_task, job_id, state FROM submissions ORDER BY array_task") == [
            (0, f"{array_job}_0", "PENDING"), (1, f"{array_job}_1", "PENDING"), (2, f"{array_job}_2", "PENDING")
        ]
        found = query(db, "SELECT count(*) FROM state_changes WHERE state = 'SUBMITTED' AND detail LIKE "
                          "'found in squeue by its tag pbt-track:%:array1'")
        assert found == [(3,)]
        assert job_info(array_job)["Comment"].startswith("pbt-track:")
    finally:
        job_ids = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE job_id IS NOT NULL")
        subprocess.run(["scancel", *(job_id for (job_id,) in job_ids)], capture_output=True)


def test_failed_tasks_of_an_array_are_resubmitted_as_one_array_with_the_launchs_limit(tmp_path: Path) -> None:
    work = tmp_path / "logs"
    try:
        done = array_launch(tmp_path, work, "tests.fixtures.pbt_echo", "--slurm_array_limit", "2",
                            "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"))
        assert done.returncode == 0, done.stdout + done.stderr
        assert pbt_track("cancel", "--all", workdir=work).returncode == 0
        wait_for_report(work, {f"0{i}_echo_pbt": "CANCELLED" for i in range(3)})

        resubmitted = pbt_track("resubmit-failed", "--include-cancelled", workdir=work)
        assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr
        db = work / "pbt_tracker.db"
        (first, second) = query(db, "SELECT job_id, argv, task_count FROM slurm_arrays ORDER BY id")
        assert second[2] == 3 and json.loads(second[1])[-2].startswith("--array=0-2%2")
        assert [line for line in resubmitted.stdout.splitlines() if line.startswith("Executing")] == [
            f"Executing {' '.join(json.loads(second[1]))}"
        ]
        assert query(db, "SELECT attempt, array_task, job_id, state FROM submissions WHERE attempt = 2 ORDER BY id") == [
            (2, task, f"{second[0]}_{task}", "SUBMITTED") for task in range(3)
        ]
        assert job_info(second[0])["ArrayTaskThrottle"] == "2"
        assert [row["state"] for row in report(work)] == ["PENDING"] * 3
    finally:
        cancel_everything(work)


def test_a_pending_task_cancelled_by_experiment_is_cancelled_though_slurm_keeps_no_record_of_it(tmp_path: Path) -> None:
    """The accounting database is told of the array's waiting tasks and never of the one cancelled out of them:
    sacct goes on showing it inside `ID_[0-2]`, PENDING, while squeue lists `ID_[0,2]`. The controller's word wins."""
    work = tmp_path / "logs"
    try:
        done = array_launch(tmp_path, work, "tests.fixtures.pbt_echo",
                            "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"))
        assert done.returncode == 0, done.stdout + done.stderr
        ((array_job,),) = query(work / "pbt_tracker.db", "SELECT job_id FROM slurm_arrays")
        wait_for_sacct_record(array_job, f"{array_job}_[0-2]")
        cancelled = pbt_track("cancel", "--experiment", "01_echo_pbt", workdir=work)
        assert cancelled.stdout == f"Cancelled 01_echo_pbt (job {array_job}_1)\n"
        listed = subprocess.run(["squeue", "--noheader", "--array", "--states=all", f"--jobs={array_job}",
                                 "--format=%i"], capture_output=True, text=True).stdout.split()
        assert listed == [f"{array_job}_0", f"{array_job}_2"]  # the cancelled task left no trace
        if (records := sacct_records(array_job)) is not None:  # but in the accounting database's record
            assert f"{array_job}_[0-2]" in records
        assert {row["experiment"]: row["state"] for row in report(work)} == {
            "00_echo_pbt": "PENDING", "01_echo_pbt": "CANCELLED", "02_echo_pbt": "PENDING"
        }
    finally:
        cancel_everything(work)


def test_a_cancelled_array_whose_waiting_tasks_are_scattered_is_settled_task_by_task_from_slurms_record(
    tmp_path: Path,
) -> None:
    """squeue and sacct show the waiting tasks of an array as one record of their ranges, which they cut at 64
    characters unless told otherwise (`7_[1,3,...,17,1`). Here every other task ran first, so the ranges of those
    that waited are long: each of them must still be CANCELLED on Slurm's word about it, not by the rule for a
    task Slurm keeps no record of."""
    work = tmp_path / "logs"
    try:
        held_array_launch(tmp_path, work, 100)
        db = work / "pbt_tracker.db"
        ((array_job,),) = query(db, "SELECT job_id FROM slurm_arrays")
        ran = [f"{array_job}_{task}" for task in range(0, 81, 2)]
        subprocess.run(["scontrol", "release", ",".join(ran)], check=True, capture_output=True)
        for job_id in ran:
            wait_for_state(job_id, {"COMPLETED"})
        waiting = subprocess.run(["squeue", "--noheader", "--states=PENDING", f"--jobs={array_job}", "--format=%i"],
                                 capture_output=True, text=True, env={**os.environ, "SLURM_BITSTR_LEN": "0"},
                                 check=True).stdout.split()
        assert len(waiting) == 1 and len(waiting[0]) > 64, waiting  # one record, longer than Slurm prints by default

        cancelled = pbt_track("cancel", "--all", workdir=work)

        assert cancelled.returncode == 0, cancelled.stdout[-2000:] + cancelled.stderr
        states_now = dict(query(db, "SELECT job_id, state FROM submissions"))
        assert {job_id for job_id, state in states_now.items() if state == "COMPLETED"} == set(ran)
        assert {state for job_id, state in states_now.items() if job_id not in ran} == {"CANCELLED"}
        assert query(db, "SELECT DISTINCT detail FROM state_changes WHERE state = 'CANCELLED'") == [("squeue",)]
    finally:
        cancel_everything(work)
