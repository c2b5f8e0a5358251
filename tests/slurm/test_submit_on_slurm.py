"""Launches that reach the real one-node Slurm, through both entry points."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, PYTHON, REPO_ROOT, query
from tests.slurm.conftest import job_info, wait_for_state

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def recorded_jobs(work: Path) -> list[tuple[str, str, str, str]]:
    return query(
        work / "pbt_tracker.db",
        "SELECT e.name, s.state, s.job_id, s.log_path FROM submissions s "
        "JOIN experiments e ON e.id = s.experiment_id ORDER BY s.id",
    )


def test_launcher_puts_every_experiment_in_the_queue_and_in_the_record(tmp_path: Path) -> None:
    work = tmp_path / "slurm logs"
    train = tmp_path / "train dir"
    done = run(PYTHON, "-m", "pbt_tracker.launcher.run", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
               "--slurm_workdir", str(work), "--slurm_sbatch_template", str(FIXTURES / "echo_template.sh"),
               "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(train))
    assert done.returncode == 0, done.stdout + done.stderr

    jobs = recorded_jobs(work)
    assert [(name, state) for name, state, _, _ in jobs] == [
        ("00_echo_pbt", "SUBMITTED"), ("01_echo_pbt", "SUBMITTED"), ("02_echo_pbt", "SUBMITTED")
    ]
    job_ids = [job_id for _, _, job_id, _ in jobs]
    assert f"Jobs queued: {job_ids!r}" in done.stdout
    assert (work / "scancel.sh").read_text().splitlines()[-1] == "scancel " + " ".join(job_ids)

    for index, (name, _, job_id, log_pattern) in enumerate(jobs):
        info = job_info(job_id)
        assert info["JobName"] == "pbt-track-test"
        assert info["NumCPUs"] == "1"
        final = wait_for_state(job_id, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"})
        assert final["JobState"] == "COMPLETED"
        log = Path(log_pattern.replace("%j", job_id))
        assert log.parent == work
        assert log.read_text().splitlines() == [
            f"running {job_id}",
            f"policy args: pbt.num_policies=3 pbt.policy_idx={index} experiment={name} "
            f"hydra.run.dir={train}/echo_pbt/echo_pbt_",
        ]


def test_pbt_track_submit_with_the_default_template_runs_each_command(tmp_path: Path) -> None:
    work = tmp_path / "w"
    done = run(PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
               "--slurm-cpus-per-gpu", "1", "--pause-between", "0", "--train-dir", str(tmp_path / "t"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Recorded in {work / 'pbt_tracker.db'} (launch 1)" in done.stdout
    assert f"Follow a log: pbt-track logs 00_echo_pbt -f --workdir {work}" in done.stdout
    for name, state, job_id, log_pattern in recorded_jobs(work):
        assert state == "SUBMITTED"
        assert wait_for_state(job_id, {"COMPLETED", "FAILED"})["JobState"] == "COMPLETED"
        log = Path(log_pattern.replace("%j", job_id)).read_text()
        assert f"experiment={name} " in log.splitlines()[-1]


def test_slurms_own_job_logs_are_readable_by_their_owner_alone_under_the_usual_umask(tmp_path: Path) -> None:
    import os
    import stat

    work = tmp_path / "w"
    done = subprocess.run([PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir",
                           str(work), "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir",
                           str(tmp_path / "t")], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stdout + done.stderr
    for _name, _state, job_id, log_pattern in recorded_jobs(work):
        assert wait_for_state(job_id, {"COMPLETED", "FAILED"})["JobState"] == "COMPLETED"
        log = Path(log_pattern.replace("%j", job_id))
        assert log.read_text()  # the job wrote to it
        assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_scancel_script_cancels_the_jobs_of_every_launch_from_the_workdir(tmp_path: Path) -> None:
    work = tmp_path / "w"
    for suffix in ("", "again"):  # a second launch of the same experiments into the same dirs is refused
        done = run(PBT_TRACK, "submit", "--run", "tests.fixtures.sleepers", "--backend", "slurm", "--workdir",
                   str(work), "--slurm_cpus_per_gpu", "1", "--slurm_gpus_per_job", "0", "--pause_between", "0",
                   "--train_dir", str(tmp_path / "t"), "--experiment_suffix", suffix)
        assert done.returncode == 0, done.stdout + done.stderr
    job_ids = [job_id for _, _, job_id, _ in recorded_jobs(work)]
    assert len(job_ids) == 4
    cancel = subprocess.run([str(work / "scancel.sh")], capture_output=True, text=True, timeout=60)
    assert cancel.returncode == 0, cancel.stderr
    for job_id in job_ids:
        assert wait_for_state(job_id, {"CANCELLED", "COMPLETED", "FAILED"})["JobState"] == "CANCELLED"


def test_a_request_slurm_refuses_is_recorded_with_slurms_message(tmp_path: Path) -> None:
    work = tmp_path / "w"
    done = run(PYTHON, "-m", "pbt_tracker.launcher.run", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
               "--slurm_workdir", str(work), "--slurm_cpus_per_gpu", "64", "--pause_between", "0",
               "--train_dir", str(tmp_path / "t"))
    assert done.returncode == 1
    assert "3 of 3 experiments were not submitted." in done.stdout
    rows = query(work / "pbt_tracker.db", "SELECT state, job_id, submit_returncode, submit_stderr FROM submissions")
    assert [row[:3] for row in rows] == [("SUBMIT_FAILED", None, 1)] * 3
    assert all("More processors requested than permitted" in row[3] for row in rows)


def test_a_site_wrapped_sbatch_that_fails_once_loses_none_of_the_other_jobs(tmp_path: Path, fake_bin) -> None:
    """Fake around the real sbatch: a site wrapper that prints a banner and refuses the second call."""
    real_sbatch = shutil.which("sbatch")
    fake_bin("sbatch", f"""#!/bin/sh
echo "== site notice: be kind to the scheduler =="
n=$(cat "$0.n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$0.n"
if [ $n = 2 ]; then echo "sbatch: error: Batch job submission failed: Socket timed out" >&2; exit 1; fi
exec {real_sbatch} "$@"
""")
    work = tmp_path / "w"
    done = run(PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
               "--slurm_cpus_per_gpu", "1", "--pause_between", "0", "--train_dir", str(tmp_path / "t"))
    assert done.returncode == 1
    jobs = recorded_jobs(work)
    # "Socket timed out" does not prove that Slurm refused the job: it is not recorded as refused.
    assert [state for _, state, _, _ in jobs] == ["SUBMITTED", "SUBMIT_UNCERTAIN", "SUBMITTED"]
    for _, state, job_id, _ in jobs:
        if state == "SUBMITTED":
            assert job_info(job_id)["JobId"] == job_id
    assert (work / "scancel.sh").read_text().splitlines()[-1] == f"scancel {jobs[0][2]} {jobs[2][2]}"
