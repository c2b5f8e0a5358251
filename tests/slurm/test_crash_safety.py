"""Kill the submitter anywhere in a launch: no job reaching Slurm is lost, none is submitted twice.

sbatch is slowed down by a wrapper around the real one (a fake only in its
pace), to widen the windows between the intent, the call and its record.
Jobs are held, so the queue never runs them.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from pbt_tracker.processes import arguments_in_flight
from tests.conftest import FIXTURES, REPO_ROOT, query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
TRIALS = int(os.environ.get("PBT_TRACK_FAULT_TRIALS", "50"))


def slurm_jobs_from(workdir: Path) -> dict[str, str]:
    """Ground truth: every job Slurm knows whose script lies in `workdir`, id -> script."""
    out = subprocess.run(["squeue", "--noheader", "--states=all", "--Format=JobArrayID:|,Command:|"],
                         capture_output=True, text=True, check=True).stdout
    jobs = {}
    for line in out.splitlines():
        job_id, command = (part.strip() for part in line.split("|")[:2])
        if command.startswith(f"{workdir}/"):
            jobs[job_id] = command
    return jobs


def wait_for_sbatches_of(workdir: Path) -> None:
    """Until no sbatch left behind by a killed submitter still carries one of the workdir's scripts: a job it queues
    after the last look would be left held on the shared cluster, where nobody cancels it."""
    deadline = time.monotonic() + 60
    while arguments_in_flight(f"{workdir}/") and time.monotonic() < deadline:
        time.sleep(0.1)


def recorded(workdir: Path) -> list[tuple[str, str | None, str]]:
    if not (workdir / "pbt_tracker.db").exists():
        return []
    return query(workdir / "pbt_tracker.db",
                 "SELECT sc.path, s.job_id, s.state FROM submissions s JOIN scripts sc ON sc.id = s.script_id")


def test_killing_the_submitter_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path, fake_bin, report_figure
) -> None:
    real_sbatch = shutil.which("sbatch")
    fake_bin("sbatch", f"""#!/bin/bash
sleep 0.$((RANDOM % 15))
out=$({real_sbatch} "$@"); rc=$?
sleep 0.$((RANDOM % 15))
echo "$out"; exit $rc
""")
    rng = random.Random(20261124)
    lost = duplicated = left_unsettled = kills = 0
    submitted_total = 0
    for trial in range(TRIALS):
        work = tmp_path / f"trial{trial}"
        cleaned = False
        try:
            launcher = subprocess.Popen(
                [PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
                 "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"), "--slurm_cpus_per_gpu", "1",
                 "--pause_between", "0", "--train_dir", str(tmp_path / "train")],
                cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.0, 3.5))
            if launcher.poll() is None:
                launcher.send_signal(signal.SIGKILL)
                kills += 1
            launcher.wait()

            if (work / "pbt_tracker.db").exists():
                deadline = time.monotonic() + 20
                while True:  # an sbatch the submitter left behind may still be on its way
                    synced = subprocess.run([PBT_TRACK, "sync", "--workdir", str(work)], cwd=REPO_ROOT,
                                            capture_output=True, text=True)
                    assert synced.returncode == 0, synced.stderr
                    if "still being sent" not in synced.stderr or time.monotonic() > deadline:
                        break
                    time.sleep(0.3)
                left_unsettled += sum(1 for _, _, state in recorded(work) if state == "SUBMITTING")
                # Held jobs are never eligible, so sacct lists none and proves no job absent: those not sent stay
                # SUBMIT_UNCERTAIN. Sync has found every sent one by its tag, so sending them again duplicates nothing.
                resubmitted = subprocess.run(
                    [PBT_TRACK, "resubmit-failed", "--workdir", str(work), "--include-uncertain"],
                    cwd=REPO_ROOT, capture_output=True, text=True)
                assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr

            wait_for_sbatches_of(work)
            truth = slurm_jobs_from(work)
            ids_on_record = {job_id for _, job_id, _ in recorded(work) if job_id}
            lost += len(set(truth) - ids_on_record)
            per_script = Counter(truth.values())
            duplicated += sum(count - 1 for count in per_script.values() if count > 1)
            if (work / "pbt_tracker.db").exists():
                scripts = {path for path, _, _ in recorded(work)}
                assert set(per_script) == scripts, f"trial {trial}: an experiment never reached Slurm"
            submitted_total += len(truth)
            if truth:
                subprocess.run(["scancel", *truth], check=True)
            cleaned = True
        finally:
            if not cleaned:  # a trial that failed leaves nothing held on the shared cluster
                wait_for_sbatches_of(work)
                if left := slurm_jobs_from(work):
                    subprocess.run(["scancel", *left], check=False)

    report_figure(f"crash safety: trials {TRIALS}, submitters killed {kills}, jobs submitted {submitted_total}, "
                  f"jobs lost {lost}, jobs duplicated {duplicated}, submissions left unsettled {left_unsettled}")
    assert (lost, duplicated, left_unsettled) == (0, 0, 0)
    assert kills >= TRIALS // 3


def test_an_sbatch_still_running_after_its_submitter_died_is_waited_for_then_found(tmp_path: Path, fake_bin) -> None:
    """Fake sbatch: the real one after two seconds, so the submitter can be killed while it is on its way."""
    real_sbatch = shutil.which("sbatch")
    fake_bin("sbatch", f"#!/bin/bash\nsleep 2\nexec {real_sbatch} \"$@\"\n")
    work = tmp_path / "w"
    launcher = subprocess.Popen(
        [PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
         "--slurm_sbatch_template", str(FIXTURES / "held_template.sh"), "--slurm_cpus_per_gpu", "1",
         "--pause_between", "0", "--train_dir", str(tmp_path / "train")],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not arguments_in_flight(f"{work}/"):
        assert time.monotonic() < deadline, "the first sbatch never started"
        time.sleep(0.05)
    launcher.kill()
    launcher.wait()
    try:
        synced = subprocess.run([PBT_TRACK, "sync", "--workdir", str(work)], cwd=REPO_ROOT, capture_output=True,
                                text=True)
        assert synced.stderr == "Note: 1 submission(s) are still being sent; sync again when their sbatch is done\n"
        # squeue lists other jobs without their tags, but only sacct could prove them absent, and it never lists a
        # held job: they stay SUBMIT_UNCERTAIN.
        assert sorted((path.rsplit("/", 1)[1], state) for path, _, state in recorded(work)) == [
            ("sbatch_00_echo_pbt.sh", "SUBMITTING"), ("sbatch_01_echo_pbt.sh", "SUBMIT_UNCERTAIN"),
            ("sbatch_02_echo_pbt.sh", "SUBMIT_UNCERTAIN"),
        ]

        while arguments_in_flight(f"{work}/"):
            assert time.monotonic() < deadline + 30, "the sbatch never ended"
            time.sleep(0.1)
        synced = subprocess.run([PBT_TRACK, "sync", "--workdir", str(work)], cwd=REPO_ROOT, capture_output=True,
                                text=True)
        assert synced.returncode == 0, synced.stderr
        states = {path.rsplit("/", 1)[1]: (job_id, state) for path, job_id, state in recorded(work)}
        assert states["sbatch_00_echo_pbt.sh"][1] == "PENDING"
        assert states["sbatch_00_echo_pbt.sh"][0] in slurm_jobs_from(work)
        assert [states[name] for name in ("sbatch_01_echo_pbt.sh", "sbatch_02_echo_pbt.sh")] == [
            (None, "SUBMIT_UNCERTAIN"), (None, "SUBMIT_UNCERTAIN")
        ]
    finally:
        wait_for_sbatches_of(work)
        jobs = slurm_jobs_from(work)
        if jobs:
            subprocess.run(["scancel", *jobs], check=False)
