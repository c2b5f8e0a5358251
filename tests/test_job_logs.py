"""Slurm's own job logs are their owner's: pbt-track names them from sbatch's argv and the job id sbatch gave."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pbt_tracker.backends.slurm.job_logs import array_tasks, log_files, make_logs_private


def test_a_jobs_log_is_its_output_pattern_with_its_id() -> None:
    argv = ["sbatch", "--job-name=x", "--output", "/w/sbatch_00.sh-slurm-%j.out", "/w/sbatch_00.sh"]
    assert log_files(argv, "4242") == ["/w/sbatch_00.sh-slurm-4242.out"]
    assert log_files(["sbatch", "--output=/w/a-%j.out", "/w/a.sh"], "7") == ["/w/a-7.out"]


def test_an_arrays_logs_are_one_per_task_of_its_spec() -> None:
    argv = ["sbatch", "--array=0-2%2", "--output", "/w/arr.sh-slurm-%A_%a.out", "/w/arr.sh"]
    assert log_files(argv, "900") == [f"/w/arr.sh-slurm-900_{task}.out" for task in range(3)]
    assert array_tasks("0,3,5-9:2") == [0, 3, 5, 7, 9]
    assert array_tasks("x-1") == []


def test_a_pattern_with_a_placeholder_pbt_track_cannot_fill_names_no_file() -> None:
    assert log_files(["sbatch", "--output", "/w/%x-%j.out", "/w/a.sh"], "7") == []
    assert log_files(["sbatch", "/w/a.sh"], "7") == []


def test_the_log_is_created_for_its_owner_alone_and_one_the_job_already_writes_keeps_its_text(tmp_path: Path) -> None:
    started = tmp_path / "b-8.out"
    started.write_text("already running\n")
    started.chmod(0o644)  # as slurmstepd makes it under umask 022
    make_logs_private(["sbatch", "--output", str(tmp_path / "a-%j.out"), "a.sh"], "7")
    make_logs_private(["sbatch", "--output", str(tmp_path / "b-%j.out"), "b.sh"], "8")
    assert stat.S_IMODE(os.stat(tmp_path / "a-7.out").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(started).st_mode) == 0o600
    assert started.read_text() == "already running\n"
